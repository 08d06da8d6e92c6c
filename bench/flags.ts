// The V8 flags cilium-guard runs with: in the image's ENTRYPOINT, in `npm start`, and in the
// benchmark (test/docker checks the first two against this list).
//
// --max-semi-space-size=2 (MiB): V8 sizes the young generation from the machine's memory, up to
// 16 MiB per semi-space on a large node, and a webhook's garbage is almost all per-request and
// short-lived. On the 2-core CI machine under the benchmark's load, peak RSS was about 123 MB with
// V8's default, about 88-108 MB with 4 and about 92 MB with 2, at the same throughput within the
// run-to-run noise (1 looked slower).
//
// --heap-growing-percent=60: after each full collection V8 lets the old generation grow to (1 + N/100)
// times what survived, and by default picks a factor of up to 4 when it judges the collector busy,
// which is exactly when reviews arrive fastest. Under the in-process benchmark's saturated Cilium
// evaluations (2026-11-27, idle 2-core machine) peak RSS was 138 MB with V8's default, 94 MB with
// 60 and 93 MB with 30; CPU per review 0-4 % more on the hot path (within the noise) and 2-9 % more
// on full Cilium evaluations and denials, which are rare.
export const NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=60'];
