// The V8 flags cilium-guard runs with: in the image's ENTRYPOINT, in `npm start`, and in the
// benchmark (test/docker checks the first two against this list).
//
// --max-semi-space-size=2 (MiB): V8 sizes the young generation from the machine's memory, up to
// 16 MiB per semi-space on a large node, and a webhook's garbage is almost all per-request and
// short-lived. On the 2-core CI machine under the benchmark's load, peak RSS was about 123 MB with
// V8's default, about 88-108 MB with 4 and about 92 MB with 2, at the same throughput within the
// run-to-run noise (1 looked slower).
export const NODE_FLAGS = ['--max-semi-space-size=2'];
