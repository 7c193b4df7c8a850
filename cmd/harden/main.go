// Command harden brings an AWS account to a secure baseline, audits it, and
// rolls back what it changed. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/harden-dev/harden/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.SystemIO())
	stop()
	os.Exit(code)
}
