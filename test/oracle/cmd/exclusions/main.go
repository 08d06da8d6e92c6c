// Command exclusions answers, for one JSON request {"text":"..."} per line on standard input, how
// Argo CD reads an argocd-cm resource.exclusions value: util/settings/settings.go GetResourcesFilter,
// sigs.k8s.io/yaml.Unmarshal into []FilteredResource (the struct of util/settings/filtered_resource.go,
// same json tags). It writes {"ok":true,"value":[{"apiGroups":[...],"kinds":[...],"clusters":[...]}]}
// with every list present ([] for nil), or {"ok":false,"error":"..."}.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

// FilteredResource is github.com/argoproj/argo-cd/v3/util/settings.FilteredResource.
type FilteredResource struct {
	APIGroups []string `json:"apiGroups,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
	Clusters  []string `json:"clusters,omitempty"`
}

type entry struct {
	APIGroups []string `json:"apiGroups"`
	Kinds     []string `json:"kinds"`
	Clusters  []string `json:"clusters"`
}

type answer struct {
	OK    bool    `json:"ok"`
	Value []entry `json:"value"`
	Error string  `json:"error,omitempty"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func read(text string) (ans answer) {
	defer func() {
		if r := recover(); r != nil {
			ans = answer{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	excluded := make([]FilteredResource, 0)
	if err := yaml.Unmarshal([]byte(text), &excluded); err != nil {
		return answer{Error: err.Error()}
	}
	out := make([]entry, 0, len(excluded))
	for _, r := range excluded {
		out = append(out, entry{orEmpty(r.APIGroups), orEmpty(r.Kinds), orEmpty(r.Clusters)})
	}
	return answer{OK: true, Value: out}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req struct {
				Text string `json:"text"`
			}
			if uerr := json.Unmarshal(line, &req); uerr != nil {
				fmt.Fprintf(os.Stderr, "exclusions: bad request: %v\n", uerr)
				os.Exit(2)
			}
			ans := read(req.Text)
			if ans.OK && ans.Value == nil {
				ans.Value = []entry{}
			}
			if eerr := enc.Encode(ans); eerr != nil {
				fmt.Fprintf(os.Stderr, "exclusions: %v\n", eerr)
				os.Exit(1)
			}
			if in.Buffered() == 0 {
				out.Flush()
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "exclusions: %v\n", err)
			os.Exit(1)
		}
	}
}
