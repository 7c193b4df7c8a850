package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
)

func newAlertsCmd(g *globals, stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alerts",
		Short:   "Prove that security alerts reach a person",
		Example: `  harden alerts test`,
		Args:    noArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "test",
		Short: "Publish a test alert and list the confirmed subscriptions",
		Example: `  harden alerts test              # the home region's topic
  harden alerts test --region eu-west-1`,
		Long: `alerts test publishes a clearly marked test message to the security alert topic
(harden-security-alerts in the home region) and says which subscriptions are
confirmed. An email subscription receives nothing until its recipient confirms it.

Exit codes: 0 the message was published and at least one subscription is
confirmed, 1 no topic, no confirmed subscription, or the publish failed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.connect(cmd.Context(), false)
			if err != nil {
				return err
			}
			t := control.Target{AccountID: s.AccountID, Region: s.HomeRegion, HomeRegion: s.HomeRegion}
			res, err := controls.SendTestAlert(cmd.Context(), s.env(), t)
			if errors.Is(err, controls.ErrNoAlertTopic) {
				return &exitError{code: ExitError, err: err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "published test message %s to %s\n", res.MessageID, res.TopicARN)
			for _, sub := range res.Subscriptions {
				state := "pending confirmation: receives nothing until the recipient confirms"
				if sub.Confirmed {
					state = "confirmed"
				}
				fmt.Fprintf(stdio.Out, "  %s  %s\n", sub.Endpoint, state)
			}
			if res.Confirmed() == 0 {
				return &exitError{code: ExitError, err: errors.New("no subscription is confirmed: nobody receives alerts (set controls.security-alerts.emails, apply, and confirm the emails)")}
			}
			return nil
		},
	})
	return cmd
}
