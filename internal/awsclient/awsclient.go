// Package awsclient builds the aws-sdk-go-v2 clients harden uses: one
// configuration from the default credential chain, a retryer tuned for a
// wide fan-out, endpoints chosen the standard way, and one cached client per
// service and region.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/budgets"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/detective"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/middleware"

	"github.com/harden-dev/harden/internal/awserror"
)

// DefaultHomeRegion is the home region when neither --region nor the AWS
// configuration names one.
const DefaultHomeRegion = "us-east-1"

// Options select the profile, home region and endpoint.
type Options struct {
	Profile string
	// Region is the home region; empty means the AWS configuration's
	// region, else DefaultHomeRegion.
	Region string
	// EndpointURL, when set, is used for every service, overriding
	// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
	EndpointURL string
	// MaxAttempts per call, retries included; 0 means 8.
	MaxAttempts int
	// MaxBackoff between attempts; 0 means the SDK default (20 s).
	MaxBackoff time.Duration
	// Timeouts bound every call; zero fields take DefaultTimeouts'.
	Timeouts Timeouts
}

// Timeouts bound every AWS call, so that a service that hangs or never
// stops throttling ends as an error of its own targets.
type Timeouts struct {
	// Connect bounds opening a connection and its TLS handshake.
	Connect time.Duration
	// Attempt bounds one HTTP attempt, from sending the request to reading
	// the whole answer. It is never longer than Call.
	Attempt time.Duration
	// Call bounds a whole operation: every attempt, retry and backoff, and
	// its time waiting for a paced budget without progress. Time queued
	// behind calls that the budget lets go and AWS answers does not count:
	// a queue that moves is not a hang (see callContext).
	Call time.Duration
}

// DefaultTimeouts: 5 s to connect, 20 s an attempt, 60 s a call.
var DefaultTimeouts = Timeouts{Connect: 5 * time.Second, Attempt: 20 * time.Second, Call: 60 * time.Second}

// withDefaults fills the zero fields from DefaultTimeouts and caps Attempt
// and Connect at Call.
func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.Attempt <= 0 {
		t.Attempt = DefaultTimeouts.Attempt
	}
	if t.Call <= 0 {
		t.Call = DefaultTimeouts.Call
	}
	t.Attempt = min(t.Attempt, t.Call)
	t.Connect = min(t.Connect, t.Attempt)
	return t
}

// httpClient is the SDK's own buildable client with the connect and
// attempt timeouts set. (A plain *http.Client would lose AWS_CA_BUNDLE:
// the SDK installs a custom CA bundle only into its buildable client.)
func httpClient(t Timeouts) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(t.Attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = t.Connect }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = t.Connect
			tr.ResponseHeaderTimeout = t.Attempt
		})
}

// callDeadline bounds each operation, retries included: it runs first in
// the Initialize step, before the retry loop of the Finalize step. Time
// queued for a paced budget that keeps serving calls does not count (see
// callContext). A second
// middleware, inside the retry loop, keeps the last attempt's error, so
// that a call that ran out of time while throttled says so.
func callDeadline(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("HardenCallDeadline",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				last := &lastAttempt{}
				call := newCallContext(ctx, d)
				defer call.release()
				out, md, err := next.HandleInitialize(context.WithValue(call, lastAttemptKey{}, last), in)
				if err != nil && call.Err() == context.DeadlineExceeded {
					err = &CallTimeoutError{After: d, Err: err, Last: last.get()}
				}
				return out, md, err
			}), middleware.Before)
		if err != nil {
			return err
		}
		attempt := middleware.FinalizeMiddlewareFunc("HardenLastAttempt",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				if last, ok := ctx.Value(lastAttemptKey{}).(*lastAttempt); ok && err != nil {
					last.set(err)
				}
				return out, md, err
			})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(attempt, "Retry", middleware.After)
		}
		return stack.Finalize.Add(attempt, middleware.Before)
	}
}

type lastAttemptKey struct{}

// lastAttempt holds the error of a call's latest attempt.
type lastAttempt struct {
	mu  sync.Mutex
	err error
}

func (l *lastAttempt) set(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

func (l *lastAttempt) get() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// CallTimeoutError is a call that did not end within its overall deadline.
type CallTimeoutError struct {
	After time.Duration
	Err   error
	// Last is the error of the last attempt that ended, if any (AWS's
	// throttling answer, say, when the deadline fell during a backoff).
	Last error
}

func (e *CallTimeoutError) Error() string {
	if e.Last != nil {
		return fmt.Sprintf("no answer within %s (last attempt: %v): %v", e.After, e.Last, e.Err)
	}
	return fmt.Sprintf("no answer within %s: %v", e.After, e.Err)
}

// Unwrap exposes both the deadline and the last attempt's error to
// errors.Is and errors.As.
func (e *CallTimeoutError) Unwrap() []error {
	if e.Last != nil {
		return []error{e.Err, e.Last}
	}
	return []error{e.Err}
}

// Timeout marks the error as a timeout (net.Error style).
func (e *CallTimeoutError) Timeout() bool { return true }

// ErrNoCredentials is returned when the default credential chain finds none.
var ErrNoCredentials = errors.New("no AWS credentials found: the default credential chain " +
	"(environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile with the shared " +
	"config and credentials files, SSO, web identity, container and instance metadata) returned none; " +
	"set one of them, for example run 'aws sso login' or export AWS_PROFILE")

// Clients hands out aws-sdk-go-v2 clients, one per service and region.
type Clients struct {
	cfg        aws.Config
	endpoint   string
	homeRegion string

	mu    sync.Mutex
	cache map[string]any
}

// Load reads the AWS configuration and checks that credentials exist. It
// makes no AWS call.
func Load(ctx context.Context, opts Options) (*Clients, error) {
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = 8
	}
	timeouts := opts.Timeouts.withDefaults()
	pace := newPacer()
	loadOpts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient(timeouts)),
		config.WithAPIOptions([]func(*middleware.Stack) error{callDeadline(timeouts.Call), pace.middleware}),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				// The retry quota is meant for one busy client, not a fan-out
				// over every region: without it a throttled burst in one region
				// fails calls elsewhere with "retry quota exceeded". Throttling
				// is paced instead (see pacing.go).
				o.RateLimiter = ratelimit.None
				o.MaxAttempts = attempts
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
				}
				// S3 answers OperationAborted ("a conflicting conditional
				// operation is in progress, try again") to configuration
				// writes that meet another on the same bucket.
				// A call whose time ran out while paced is not retried
				// (first: the retryables' first answer wins).
				o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					var paced *PacedError
					if errors.As(err, &paced) {
						return aws.FalseTernary
					}
					return aws.UnknownTernary
				})}, o.Retryables...)
				o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if awserror.Is(err, "OperationAborted") {
						return aws.TrueTernary
					}
					return aws.UnknownTernary
				}))
			})
		}),
	}
	if opts.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(opts.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	home := opts.Region
	if home == "" {
		home = cfg.Region
	}
	if home == "" {
		home = DefaultHomeRegion
	}
	cfg.Region = home
	if cfg.Credentials == nil {
		return nil, ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (%v)", ErrNoCredentials, err)
	}
	return &Clients{cfg: cfg, endpoint: opts.EndpointURL, homeRegion: home, cache: map[string]any{}}, nil
}

// HomeRegion is where account-wide controls run.
func (c *Clients) HomeRegion() string { return c.homeRegion }

// AccountID asks STS whose credentials these are.
func (c *Clients) AccountID(ctx context.Context) (string, error) {
	id, err := c.CallerIdentity(ctx, c.homeRegion)
	return id.Account, err
}

// Identity is who the credentials belong to.
type Identity struct {
	Account string
	// ARN is the caller's ARN: a user, or an assumed role's session.
	ARN string
}

// CallerIdentity asks STS in region whose credentials these are.
func (c *Clients) CallerIdentity(ctx context.Context, region string) (Identity, error) {
	out, err := c.STSIn(region).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("sts: get caller identity in %s: %w", region, err)
	}
	return Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}, nil
}

// AccountAlias returns the account's alias (IAM allows at most one), or ""
// when it has none.
func (c *Clients) AccountAlias(ctx context.Context) (string, error) {
	out, err := c.IAM().ListAccountAliases(ctx, &iam.ListAccountAliasesInput{})
	if err != nil {
		return "", fmt.Errorf("iam: list account aliases: %w", err)
	}
	if len(out.AccountAliases) == 0 {
		return "", nil
	}
	return out.AccountAliases[0], nil
}

// client returns the cached client for (service, region), making it once.
func client[T any](c *Clients, service, region string, mk func(aws.Config) T) T {
	key := service + "/" + region
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cache[key]; ok {
		return v.(T)
	}
	cfg := c.cfg.Copy()
	cfg.Region = region
	v := mk(cfg)
	c.cache[key] = v
	return v
}

// endpointOverride sets --endpoint-url on a client's BaseEndpoint.
func (c *Clients) endpointOverride(base **string) {
	if c.endpoint != "" {
		*base = aws.String(c.endpoint)
	}
}

// STS returns the STS client of the home region.
func (c *Clients) STS() *sts.Client { return c.STSIn(c.homeRegion) }

// STSIn returns the STS client of a region.
func (c *Clients) STSIn(region string) *sts.Client {
	return client(c, "sts", region, func(cfg aws.Config) *sts.Client {
		return sts.NewFromConfig(cfg, func(o *sts.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// EC2 returns the EC2 client of a region.
func (c *Clients) EC2(region string) *ec2.Client {
	return client(c, "ec2", region, func(cfg aws.Config) *ec2.Client {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// IAM returns the IAM client. IAM is global; its calls are signed for the
// partition's global region whatever the home region is.
func (c *Clients) IAM() *iam.Client {
	return client(c, "iam", "global", func(cfg aws.Config) *iam.Client {
		return iam.NewFromConfig(cfg, func(o *iam.Options) {
			o.Region = c.homeRegion
			c.endpointOverride(&o.BaseEndpoint)
		})
	})
}

// AccessAnalyzer returns the IAM Access Analyzer client of a region.
func (c *Clients) AccessAnalyzer(region string) *accessanalyzer.Client {
	return client(c, "access-analyzer", region, func(cfg aws.Config) *accessanalyzer.Client {
		return accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// S3 returns the S3 client of a region. With a custom endpoint it uses
// path-style addressing: a virtual-hosted bucket name in front of a custom
// endpoint's host (http://bucket.127.0.0.1:4566) does not resolve.
func (c *Clients) S3(region string) *s3.Client {
	return client(c, "s3", region, func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) {
			c.endpointOverride(&o.BaseEndpoint)
			if o.BaseEndpoint != nil {
				o.UsePathStyle = true
			}
		})
	})
}

// KMS returns the KMS client of a region.
func (c *Clients) KMS(region string) *kms.Client {
	return client(c, "kms", region, func(cfg aws.Config) *kms.Client {
		return kms.NewFromConfig(cfg, func(o *kms.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// CloudTrail returns the CloudTrail client of a region.
func (c *Clients) CloudTrail(region string) *cloudtrail.Client {
	return client(c, "cloudtrail", region, func(cfg aws.Config) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// SNS returns the SNS client of a region.
func (c *Clients) SNS(region string) *sns.Client {
	return client(c, "sns", region, func(cfg aws.Config) *sns.Client {
		return sns.NewFromConfig(cfg, func(o *sns.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// EventBridge returns the EventBridge client of a region.
func (c *Clients) EventBridge(region string) *eventbridge.Client {
	return client(c, "events", region, func(cfg aws.Config) *eventbridge.Client {
		return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// Config returns the AWS Config client of a region.
func (c *Clients) Config(region string) *configservice.Client {
	return client(c, "config", region, func(cfg aws.Config) *configservice.Client {
		return configservice.NewFromConfig(cfg, func(o *configservice.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// GuardDuty returns the GuardDuty client of a region.
func (c *Clients) GuardDuty(region string) *guardduty.Client {
	return client(c, "guardduty", region, func(cfg aws.Config) *guardduty.Client {
		return guardduty.NewFromConfig(cfg, func(o *guardduty.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// SecurityHub returns the Security Hub client of a region.
func (c *Clients) SecurityHub(region string) *securityhub.Client {
	return client(c, "securityhub", region, func(cfg aws.Config) *securityhub.Client {
		return securityhub.NewFromConfig(cfg, func(o *securityhub.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// Detective returns the Detective client of a region.
func (c *Clients) Detective(region string) *detective.Client {
	return client(c, "detective", region, func(cfg aws.Config) *detective.Client {
		return detective.NewFromConfig(cfg, func(o *detective.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// Account returns the AWS Account client. The Account API is global: its
// calls are signed for us-east-1 whatever the home region is.
func (c *Clients) Account() *account.Client {
	return client(c, "account", "global", func(cfg aws.Config) *account.Client {
		return account.NewFromConfig(cfg, func(o *account.Options) {
			o.Region = "us-east-1"
			c.endpointOverride(&o.BaseEndpoint)
		})
	})
}

// Budgets returns the AWS Budgets client. Budgets is global: its calls are
// signed for us-east-1.
func (c *Clients) Budgets() *budgets.Client {
	return client(c, "budgets", "global", func(cfg aws.Config) *budgets.Client {
		return budgets.NewFromConfig(cfg, func(o *budgets.Options) {
			o.Region = "us-east-1"
			c.endpointOverride(&o.BaseEndpoint)
		})
	})
}

// CostExplorer returns the Cost Explorer client (Cost Anomaly Detection).
// Cost Explorer is served from us-east-1 only.
func (c *Clients) CostExplorer() *costexplorer.Client {
	return client(c, "ce", "global", func(cfg aws.Config) *costexplorer.Client {
		return costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) {
			o.Region = "us-east-1"
			c.endpointOverride(&o.BaseEndpoint)
		})
	})
}

// CloudWatchLogs returns the CloudWatch Logs client of a region.
func (c *Clients) CloudWatchLogs(region string) *cloudwatchlogs.Client {
	return client(c, "logs", region, func(cfg aws.Config) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// CloudWatch returns the CloudWatch (metrics and alarms) client of a
// region. It speaks Smithy RPC v2 CBOR.
func (c *Clients) CloudWatch(region string) *cloudwatch.Client {
	return client(c, "monitoring", region, func(cfg aws.Config) *cloudwatch.Client {
		return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { c.endpointOverride(&o.BaseEndpoint) })
	})
}

// S3Control returns the S3 Control client of a region. With a custom
// endpoint, requests go to that endpoint's host, not to
// "<account-id>.<host>" as the SDK's endpoint rules would send them.
func (c *Clients) S3Control(region string) *s3control.Client {
	return client(c, "s3control", region, func(cfg aws.Config) *s3control.Client {
		return s3control.NewFromConfig(cfg, func(o *s3control.Options) {
			c.endpointOverride(&o.BaseEndpoint)
			o.EndpointResolverV2 = accountHostStripper{next: s3control.NewDefaultEndpointResolverV2()}
		})
	})
}

// accountHostStripper removes the account-id host label that S3 Control's
// endpoint rules put in front of a custom endpoint's host
// (http://123456789012.127.0.0.1:4566 does not resolve). AWS's own
// endpoints are left as the rules make them.
type accountHostStripper struct {
	next s3control.EndpointResolverV2
}

func (r accountHostStripper) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	ep, err := r.next.ResolveEndpoint(ctx, p)
	if err != nil || p.Endpoint == nil || p.AccountId == nil {
		return ep, err
	}
	prefix := aws.ToString(p.AccountId) + "."
	if strings.HasPrefix(ep.URI.Host, prefix) {
		u := ep.URI
		u.Host = strings.TrimPrefix(u.Host, prefix)
		ep.URI = u
	}
	return ep, nil
}
