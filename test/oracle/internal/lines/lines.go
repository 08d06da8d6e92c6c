// Package lines is the oracles' one protocol: a JSON request per line on standard input, a JSON
// answer per line on standard output, flushed as soon as no further request is waiting.
package lines

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Serve calls handle for every non-blank line until standard input ends. A handle error is a
// request the oracle cannot understand: it is reported on standard error with exit status 2.
func Serve(name string, handle func(line []byte) (any, error)) {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			answer, herr := handle(line)
			if herr != nil {
				out.Flush()
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, herr)
				os.Exit(2)
			}
			if eerr := enc.Encode(answer); eerr != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, eerr)
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
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
}
