// Command trim answers, for one JSON string per line on standard input, with the JSON string Go's
// strings.TrimSpace makes of it: how the Cilium agent trims each cilium-config value it reads as a
// file (pkg/option ReadDirConfig: bytes.TrimSpace). It checks that bytes.TrimSpace agrees and exits
// non-zero if it ever does not.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var s string
			if uerr := json.Unmarshal(line, &s); uerr != nil {
				fmt.Fprintf(os.Stderr, "trim: line is not a JSON string: %v\n", uerr)
				os.Exit(2)
			}
			trimmed := strings.TrimSpace(s)
			if b := string(bytes.TrimSpace([]byte(s))); b != trimmed {
				fmt.Fprintf(os.Stderr, "trim: strings.TrimSpace %q and bytes.TrimSpace %q differ\n", trimmed, b)
				os.Exit(3)
			}
			if eerr := enc.Encode(trimmed); eerr != nil {
				fmt.Fprintf(os.Stderr, "trim: %v\n", eerr)
				os.Exit(1)
			}
			// One answer per question, readable as soon as it is asked.
			if in.Buffered() == 0 {
				out.Flush()
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "trim: %v\n", err)
			os.Exit(1)
		}
	}
}
