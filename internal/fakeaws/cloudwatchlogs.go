package fakeaws

import (
	"fmt"
	"regexp"
	"strings"
)

// logsRegion is one region's CloudWatch Logs state: log groups by name.
type logsRegion struct {
	Groups map[string]*logGroup
}

type logGroup struct {
	LogGroupName    string                   `json:"logGroupName"`
	Arn             string                   `json:"arn"`
	RetentionInDays int                      `json:"retentionInDays,omitempty"`
	CreationTime    int64                    `json:"creationTime"`
	MetricFilters   map[string]*metricFilter `json:"metricFilters"`
	Tags            map[string]string        `json:"tags"`
}

type metricTransformation struct {
	MetricName      string `json:"metricName"`
	MetricNamespace string `json:"metricNamespace"`
	MetricValue     string `json:"metricValue"`
}

type metricFilter struct {
	FilterName            string                 `json:"filterName"`
	FilterPattern         string                 `json:"filterPattern"`
	LogGroupName          string                 `json:"logGroupName"`
	MetricTransformations []metricTransformation `json:"metricTransformations"`
	CreationTime          int64                  `json:"creationTime"`
}

// logsService is CloudWatch Logs (JSON 1.1, Logs_20140328).
func logsService() *service {
	return &service{
		name:          "logs",
		signingName:   "logs",
		protocol:      protoJSON,
		target:        "Logs_20140328",
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "CreateLogGroup", write: true, handle: logsCreateLogGroup},
			{name: "DeleteLogGroup", write: true, handle: logsDeleteLogGroup},
			{name: "DescribeLogGroups", handle: logsDescribeLogGroups},
			{name: "PutRetentionPolicy", write: true, handle: logsPutRetentionPolicy},
			{name: "DeleteRetentionPolicy", write: true, handle: logsDeleteRetentionPolicy},
			{name: "PutMetricFilter", write: true, handle: logsPutMetricFilter},
			{name: "DescribeMetricFilters", handle: logsDescribeMetricFilters},
			{name: "DeleteMetricFilter", write: true, handle: logsDeleteMetricFilter},
			{name: "TestMetricFilter", handle: logsTestMetricFilter},
			{name: "TagResource", write: true, handle: logsTagResource},
			{name: "ListTagsForResource", handle: logsListTagsForResource},
		},
	}
}

// logsRetentionDays are the values PutRetentionPolicy accepts.
var logsRetentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true,
	120: true, 150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true,
	2192: true, 2557: true, 2922: true, 3288: true, 3653: true}

var logGroupNamePattern = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

func logsInvalid(msg string) *APIError {
	return &APIError{Status: 400, Code: "InvalidParameterException", Message: msg}
}

func logsNotFound(what string) *APIError {
	return &APIError{Status: 400, Code: "ResourceNotFoundException", Message: "The specified " + what + " does not exist."}
}

func (c *call) logGroup(name string) (*logGroup, error) {
	g, ok := c.regionState().Logs.Groups[name]
	if !ok {
		return nil, logsNotFound("log group")
	}
	return g, nil
}

func logsCreateLogGroup(c *call) (any, error) {
	var in struct {
		LogGroupName string            `json:"logGroupName"`
		Tags         map[string]string `json:"tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !logGroupNamePattern.MatchString(in.LogGroupName) {
		return nil, logsInvalid("1 validation error detected: Value at 'logGroupName' failed to satisfy constraint")
	}
	r := &c.regionState().Logs
	if _, ok := r.Groups[in.LogGroupName]; ok {
		return nil, &APIError{Status: 400, Code: "ResourceAlreadyExistsException", Message: "The specified log group already exists"}
	}
	tags := in.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	r.Groups[in.LogGroupName] = &logGroup{
		LogGroupName:  in.LogGroupName,
		Arn:           fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", c.region, c.acct.ID, in.LogGroupName),
		CreationTime:  1767225600000,
		MetricFilters: map[string]*metricFilter{},
		Tags:          tags,
	}
	return nil, nil
}

type logGroupName struct {
	LogGroupName string `json:"logGroupName"`
}

func logsDeleteLogGroup(c *call) (any, error) {
	var in logGroupName
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if _, err := c.logGroup(in.LogGroupName); err != nil {
		return nil, err
	}
	delete(c.regionState().Logs.Groups, in.LogGroupName)
	return nil, nil
}

func logsDescribeLogGroups(c *call) (any, error) {
	var in struct {
		LogGroupNamePrefix string `json:"logGroupNamePrefix"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	type view struct {
		LogGroupName    string `json:"logGroupName"`
		Arn             string `json:"arn"`
		RetentionInDays int    `json:"retentionInDays,omitempty"`
		CreationTime    int64  `json:"creationTime"`
		MetricFilterCnt int    `json:"metricFilterCount"`
	}
	r := c.regionState().Logs
	out := []view{}
	for _, name := range sortedKeys(r.Groups) {
		if !strings.HasPrefix(name, in.LogGroupNamePrefix) {
			continue
		}
		g := r.Groups[name]
		out = append(out, view{g.LogGroupName, g.Arn, g.RetentionInDays, g.CreationTime, len(g.MetricFilters)})
	}
	return struct {
		LogGroups []view `json:"logGroups"`
	}{out}, nil
}

func logsPutRetentionPolicy(c *call) (any, error) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int    `json:"retentionInDays"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if !logsRetentionDays[in.RetentionInDays] {
		return nil, logsInvalid(fmt.Sprintf("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set", in.RetentionInDays))
	}
	g.RetentionInDays = in.RetentionInDays
	return nil, nil
}

func logsDeleteRetentionPolicy(c *call) (any, error) {
	var in logGroupName
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	g.RetentionInDays = 0
	return nil, nil
}

func logsPutMetricFilter(c *call) (any, error) {
	var in metricFilter
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if in.FilterName == "" || len(in.MetricTransformations) != 1 {
		return nil, logsInvalid("a metric filter needs a name and exactly one metric transformation")
	}
	if _, err := parseFilterPattern(in.FilterPattern); err != nil {
		return nil, logsInvalid("Invalid metric filter pattern: " + err.Error())
	}
	if _, ok := g.MetricFilters[in.FilterName]; !ok && len(g.MetricFilters) >= 100 {
		return nil, &APIError{Status: 400, Code: "LimitExceededException", Message: "Resource limit exceeded."}
	}
	in.CreationTime = 1767225600000
	g.MetricFilters[in.FilterName] = &in
	return nil, nil
}

func logsDescribeMetricFilters(c *call) (any, error) {
	var in struct {
		LogGroupName     string `json:"logGroupName"`
		FilterNamePrefix string `json:"filterNamePrefix"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	out := []*metricFilter{}
	r := c.regionState().Logs
	for _, name := range sortedKeys(r.Groups) {
		if in.LogGroupName != "" && name != in.LogGroupName {
			continue
		}
		g := r.Groups[name]
		for _, fn := range sortedKeys(g.MetricFilters) {
			if strings.HasPrefix(fn, in.FilterNamePrefix) {
				out = append(out, g.MetricFilters[fn])
			}
		}
	}
	if in.LogGroupName != "" {
		if _, ok := r.Groups[in.LogGroupName]; !ok {
			return nil, logsNotFound("log group")
		}
	}
	return struct {
		MetricFilters []*metricFilter `json:"metricFilters"`
	}{out}, nil
}

func logsDeleteMetricFilter(c *call) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
		FilterName   string `json:"filterName"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if _, ok := g.MetricFilters[in.FilterName]; !ok {
		return nil, logsNotFound("filter")
	}
	delete(g.MetricFilters, in.FilterName)
	return nil, nil
}

func logsTestMetricFilter(c *call) (any, error) {
	var in struct {
		FilterPattern    string   `json:"filterPattern"`
		LogEventMessages []string `json:"logEventMessages"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	p, err := parseFilterPattern(in.FilterPattern)
	if err != nil {
		return nil, logsInvalid("Invalid metric filter pattern: " + err.Error())
	}
	type match struct {
		EventNumber     int               `json:"eventNumber"`
		EventMessage    string            `json:"eventMessage"`
		ExtractedValues map[string]string `json:"extractedValues"`
	}
	out := []match{}
	for i, msg := range in.LogEventMessages {
		if p.matchMessage(msg) {
			out = append(out, match{EventNumber: i + 1, EventMessage: msg, ExtractedValues: map[string]string{}})
		}
	}
	return struct {
		Matches []match `json:"matches"`
	}{out}, nil
}

// logGroupByARN finds a log group from its ARN, with or without the
// trailing ":*".
func (c *call) logGroupByARN(arn string) (*logGroup, error) {
	prefix := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:", c.region, c.acct.ID)
	name, ok := strings.CutPrefix(strings.TrimSuffix(arn, ":*"), prefix)
	if !ok {
		return nil, logsNotFound("resource")
	}
	return c.logGroup(name)
}

func logsTagResource(c *call) (any, error) {
	var in struct {
		ResourceArn string            `json:"resourceArn"`
		Tags        map[string]string `json:"tags"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroupByARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	for k, v := range in.Tags {
		g.Tags[k] = v
	}
	return nil, nil
}

func logsListTagsForResource(c *call) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	g, err := c.logGroupByARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags map[string]string `json:"tags"`
	}{g.Tags}, nil
}
