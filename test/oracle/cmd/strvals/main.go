// Command strvals answers, for one JSON request per line on standard input, with what Helm's pkg/strvals
// (the parser behind --set, --set-string, --set-json, --set-literal and --set-file) makes of a sequence of
// arguments, for Helm v3 (helm.sh/helm/v3) or v4 (helm.sh/helm/v4), the versions go.mod pins.
//
//	request: {"version":"3"|"4","ops":[{"kind":"set"|"string"|"json"|"literal"|"file","arg":"..."},...]}
//	answer:  {"ok":true,"value":{...}} or {"ok":false,"error":"..."}
//
// The ops are applied in order to one map, one Parse*Into call per argument, as Helm's values.Options
// MergeValues does; the first error ends the request (Helm aborts the render on it). A "file" op calls
// ParseIntoFile with a reader that answers the string "file:" followed by the path, or fails with
// "cannot read file <path>" when the path contains "!" (no file is ever read).
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"cilium-guard.local/oracle/internal/lines"

	strvals3 "helm.sh/helm/v3/pkg/strvals"
	strvals4 "helm.sh/helm/v4/pkg/strvals"
)

type op struct {
	Kind string `json:"kind"`
	Arg  string `json:"arg"`
}

type request struct {
	Version string `json:"version"`
	Ops     []op   `json:"ops"`
}

type answer struct {
	OK    bool            `json:"ok"`
	Value *map[string]any `json:"value,omitempty"`
	Error string          `json:"error,omitempty"`
	Panic bool            `json:"panic,omitempty"`
}

func fileReader(rs []rune) (any, error) {
	p := string(rs)
	if strings.ContainsRune(p, '!') {
		return nil, fmt.Errorf("cannot read file %s", p)
	}
	return "file:" + p, nil
}

func apply(version string, o op, dest map[string]any) error {
	switch version {
	case "3":
		switch o.Kind {
		case "set":
			return strvals3.ParseInto(o.Arg, dest)
		case "string":
			return strvals3.ParseIntoString(o.Arg, dest)
		case "json":
			return strvals3.ParseJSON(o.Arg, dest)
		case "literal":
			return strvals3.ParseLiteralInto(o.Arg, dest)
		case "file":
			return strvals3.ParseIntoFile(o.Arg, dest, fileReader)
		}
	case "4":
		switch o.Kind {
		case "set":
			return strvals4.ParseInto(o.Arg, dest)
		case "string":
			return strvals4.ParseIntoString(o.Arg, dest)
		case "json":
			return strvals4.ParseJSON(o.Arg, dest)
		case "literal":
			return strvals4.ParseLiteralInto(o.Arg, dest)
		case "file":
			return strvals4.ParseIntoFile(o.Arg, dest, fileReader)
		}
	}
	panic("unreachable: the request was checked")
}

func check(req request) error {
	if req.Version != "3" && req.Version != "4" {
		return fmt.Errorf("unknown version %q", req.Version)
	}
	for _, o := range req.Ops {
		switch o.Kind {
		case "set", "string", "json", "literal", "file":
		default:
			return fmt.Errorf("unknown op kind %q", o.Kind)
		}
	}
	return nil
}

func run(req request) (a answer) {
	// strvals recovers its own panics; anything else escaping is reported, not fatal.
	defer func() {
		if r := recover(); r != nil {
			a = answer{OK: false, Error: fmt.Sprintf("oracle panic: %v", r), Panic: true}
		}
	}()
	dest := map[string]any{}
	for _, o := range req.Ops {
		if err := apply(req.Version, o, dest); err != nil {
			return answer{OK: false, Error: err.Error()}
		}
	}
	return answer{OK: true, Value: &dest}
}

func main() {
	lines.Serve("strvals", func(line []byte) (any, error) {
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return nil, fmt.Errorf("line is not a request: %w", err)
		}
		if err := check(req); err != nil {
			return nil, err
		}
		return run(req), nil
	})
}
