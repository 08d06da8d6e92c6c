// Command goyaml answers, one JSON line per request, how the upstream Go code reads a YAML text:
//
//	{"op":"unmarshal","text":"..."}  sigs.k8s.io/yaml.Unmarshal into `any` (go-yaml v2, first document, JSON-converted)
//	{"op":"helm3","text":"..."}      helm.sh/helm/v3 v3.19.4 pkg/cli/values Options.MergeValues with the text as its one values file
//	{"op":"helm4","text":"..."}      helm.sh/helm/v4 v4.3.1 loader.LoadValues
//	{"op":"helm42","text":"..."}     Helm 4.2.1's loader.LoadValues: the same code without 4.3's trailing-newline fix
//	                                 (4.2.1 and 4.3.1 share a module path, so 4.2.1's ten lines are copied below)
//
// and writes {"ok":true,"value":...} or {"ok":false,"error":"..."}. Values are printed by encoding/json,
// so numbers appear exactly as Go formats the float64 it holds.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v3values "helm.sh/helm/v3/pkg/cli/values"
	v3getter "helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

type request struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

type answer struct {
	OK    bool   `json:"ok"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

var tmpDir string

// helm3 reads the text as the one -f file of Helm 3.19.4's MergeValues.
func helm3(text string) (map[string]any, error) {
	file := filepath.Join(tmpDir, "values.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return nil, err
	}
	opts := v3values.Options{ValueFiles: []string{file}}
	return opts.MergeValues(v3getter.Providers{})
}

// loadValues42 is helm.sh/helm/v4 v4.2.1 pkg/chart/v2/loader/load.go LoadValues, verbatim.
func loadValues42(data io.Reader) (map[string]any, error) {
	values := map[string]any{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(data))
	for {
		currentMap := map[string]any{}
		raw, err := reader.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("error reading yaml document: %w", err)
		}
		if err := yaml.Unmarshal(raw, &currentMap); err != nil {
			return nil, fmt.Errorf("cannot unmarshal yaml document: %w", err)
		}
		values = loader.MergeMaps(values, currentMap)
	}
	return values, nil
}

func run(req request) (ans answer) {
	defer func() {
		if r := recover(); r != nil {
			ans = answer{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	var value any
	var err error
	switch req.Op {
	case "unmarshal":
		var v any
		err = yaml.Unmarshal([]byte(req.Text), &v)
		value = v
	case "helm3":
		value, err = helm3(req.Text)
	case "helm4":
		value, err = loader.LoadValues(bytes.NewReader([]byte(req.Text)))
	case "helm42":
		value, err = loadValues42(bytes.NewReader([]byte(req.Text)))
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		return answer{Error: err.Error()}
	}
	// Checked here so that an unprintable value is an error line, never a broken one.
	if _, err := json.Marshal(value); err != nil {
		return answer{Error: "oracle cannot print the value: " + err.Error()}
	}
	return answer{OK: true, Value: value}
}

func main() {
	var err error
	tmpDir, err = os.MkdirTemp("", "goyaml-oracle-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmpDir)
	dec := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<20))
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if err == io.EOF {
				break
			}
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		ans := run(req)
		// A nil map prints as null; {"ok":true} without "value" means null.
		if ans.OK && ans.Value == nil {
			if err := enc.Encode(struct {
				OK    bool `json:"ok"`
				Value any  `json:"value"`
			}{true, nil}); err != nil {
				os.Exit(3)
			}
		} else if err := enc.Encode(ans); err != nil {
			os.Exit(3)
		}
		if err := out.Flush(); err != nil {
			os.Exit(3)
		}
	}
}
