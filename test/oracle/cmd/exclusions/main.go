// Command exclusions answers, for one JSON request {"text":"..."} per line on standard input, how
// Argo CD reads an argocd-cm resource.exclusions value: util/settings/settings.go GetResourcesFilter,
// sigs.k8s.io/yaml.Unmarshal into []FilteredResource (the struct of util/settings/filtered_resource.go,
// same json tags). It writes {"ok":true,"value":[{"apiGroups":[...],"kinds":[...],"clusters":[...]}]}
// with every list present ([] for nil), or {"ok":false,"error":"..."}.
package main

import (
	"encoding/json"
	"fmt"

	"cilium-guard.local/oracle/internal/lines"

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
	lines.Serve("exclusions", func(line []byte) (any, error) {
		var req struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(line, &req); err != nil {
			return nil, fmt.Errorf("bad request: %w", err)
		}
		ans := read(req.Text)
		if ans.OK && ans.Value == nil {
			ans.Value = []entry{}
		}
		return ans, nil
	})
}
