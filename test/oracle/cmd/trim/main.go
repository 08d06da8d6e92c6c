// Command trim answers, for one JSON string per line on standard input, with the JSON string Go's
// strings.TrimSpace makes of it: how the Cilium agent trims each cilium-config value it reads as a
// file (pkg/option ReadDirConfig: bytes.TrimSpace). It checks that bytes.TrimSpace agrees and exits
// non-zero if it ever does not.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"cilium-guard.local/oracle/internal/lines"
)

func main() {
	lines.Serve("trim", func(line []byte) (any, error) {
		var s string
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("line is not a JSON string: %w", err)
		}
		trimmed := strings.TrimSpace(s)
		if b := string(bytes.TrimSpace([]byte(s))); b != trimmed {
			fmt.Fprintf(os.Stderr, "trim: strings.TrimSpace %q and bytes.TrimSpace %q differ\n", trimmed, b)
			os.Exit(3)
		}
		return trimmed, nil
	})
}
