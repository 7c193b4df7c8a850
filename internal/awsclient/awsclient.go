// Package awsclient builds the aws-sdk-go-v2 clients harden uses: one
// configuration from the default credential chain, a retryer tuned for a
// wide fan-out, endpoints chosen the standard way, and one cached client per
// service and region.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
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
}

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
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				// The retry quota is meant for one busy client, not a fan-out
				// over every region: without it a throttled burst in one region
				// fails calls elsewhere with "retry quota exceeded".
				o.RateLimiter = ratelimit.None
				o.MaxAttempts = attempts
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
					o.Backoff = retry.NewExponentialJitterBackoff(opts.MaxBackoff)
				}
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
	out, err := c.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("sts: get caller identity in %s: %w", c.homeRegion, err)
	}
	return aws.ToString(out.Account), nil
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
func (c *Clients) STS() *sts.Client {
	return client(c, "sts", c.homeRegion, func(cfg aws.Config) *sts.Client {
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

// Config returns the AWS Config client of a region.
func (c *Clients) Config(region string) *configservice.Client {
	return client(c, "config", region, func(cfg aws.Config) *configservice.Client {
		return configservice.NewFromConfig(cfg, func(o *configservice.Options) { c.endpointOverride(&o.BaseEndpoint) })
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
