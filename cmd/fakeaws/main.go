// Command fakeaws serves an in-memory AWS account for harden's tests and demo.
package main

import (
	"fmt"
	"os"

	"github.com/harden-dev/harden/internal/fakeaws/fakeawscmd"
)

func main() {
	if err := fakeawscmd.Main(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakeaws:", err)
		os.Exit(1)
	}
}
