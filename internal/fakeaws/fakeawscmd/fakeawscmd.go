// Package fakeawscmd is the fakeaws command line: flags for the account,
// latency and faults, then serve until killed.
package fakeawscmd

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/harden-dev/harden/internal/fakeaws"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Main parses args, prints the base URL as the first line on out, and serves
// until SIGINT or SIGTERM.
func Main(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fakeaws", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	account := fs.String("account-id", fakeaws.DefaultAccountID, "account id of the fake account")
	latency := fs.Duration("latency", 0, "delay added to every AWS call, e.g. 50ms")
	alias := fs.String("account-alias", "", "the account's alias (iam:ListAccountAliases); none by default")
	var throttles, faults, disabled, enabled, absent listFlag
	fs.Var(&throttles, "throttle", "SERVICE[:REGION]=RATE[/BURST]: calls a second over which the service answers its throttling error; without REGION, in each region separately; REGION * is one limit shared by all regions (repeatable)")
	fs.Var(&faults, "fault", "SERVICE:ACTION:REGION=ERROR[:TIMES]: fail matching calls (empty parts match any; ERROR is access-denied, throttle or an error code) (repeatable)")
	fs.Var(&disabled, "disable-region", "make a region not enabled for the account (repeatable)")
	fs.Var(&enabled, "enable-region", "opt the account in to an opt-in region (repeatable)")
	fs.Var(&absent, "absent-service", "SERVICE:REGION: the service is not offered in the region (calls answer UnknownEndpoint) (repeatable)")
	readyAfter := fs.Int("standards-ready-after", 1, "GetEnabledStandards answers that show a newly enabled Security Hub standard PENDING before it is READY")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *readyAfter < 1 {
		return fmt.Errorf("-standards-ready-after %d: want 1 or more", *readyAfter)
	}
	srv := fakeaws.New(fakeaws.Options{AccountID: *account, Latency: *latency})
	srv.SetAccountAlias(*alias)
	srv.SetStandardsReadyAfter(*readyAfter)
	for _, r := range disabled {
		if err := srv.SetRegionOptIn(r, "not-opted-in"); err != nil {
			return err
		}
	}
	for _, r := range enabled {
		if err := srv.SetRegionOptIn(r, "opted-in"); err != nil {
			return err
		}
	}
	for _, a := range absent {
		service, region, ok := strings.Cut(a, ":")
		if !ok {
			return fmt.Errorf("-absent-service %q: want SERVICE:REGION", a)
		}
		if err := srv.SetServiceAbsent(service, region, true); err != nil {
			return err
		}
	}
	for _, t := range throttles {
		if err := addThrottle(srv, t); err != nil {
			return err
		}
	}
	for _, f := range faults {
		if err := addFault(srv, f); err != nil {
			return err
		}
	}
	url, stop, err := srv.Start(*addr)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintln(out, url)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

func addThrottle(srv *fakeaws.Server, spec string) error {
	target, rate, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("-throttle %q: want SERVICE[:REGION]=RATE[/BURST]", spec)
	}
	service, region, _ := strings.Cut(target, ":")
	rateS, burstS, hasBurst := strings.Cut(rate, "/")
	r, err := strconv.ParseFloat(rateS, 64)
	if err != nil || r < 0 {
		return fmt.Errorf("-throttle %q: bad rate", spec)
	}
	burst := 1
	if hasBurst {
		if burst, err = strconv.Atoi(burstS); err != nil {
			return fmt.Errorf("-throttle %q: bad burst", spec)
		}
	}
	srv.SetThrottle(service, region, r, burst)
	return nil
}

func addFault(srv *fakeaws.Server, spec string) error {
	target, errSpec, ok := strings.Cut(spec, "=")
	parts := strings.Split(target, ":")
	if !ok || len(parts) != 3 || errSpec == "" {
		return fmt.Errorf("-fault %q: want SERVICE:ACTION:REGION=ERROR[:TIMES]", spec)
	}
	code, timesS, hasTimes := strings.Cut(errSpec, ":")
	times := 0
	if hasTimes {
		var err error
		if times, err = strconv.Atoi(timesS); err != nil {
			return fmt.Errorf("-fault %q: bad TIMES", spec)
		}
	}
	srv.AddFault(fakeaws.Fault{Service: parts[0], Action: parts[1], Region: parts[2], Error: code, Times: times})
	return nil
}
