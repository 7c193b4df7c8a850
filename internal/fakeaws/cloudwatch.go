package fakeaws

// cloudwatchRegion is one region's CloudWatch alarms.
type cloudwatchRegion struct {
	Alarms map[string]*metricAlarm
}

type metricAlarm struct{}
