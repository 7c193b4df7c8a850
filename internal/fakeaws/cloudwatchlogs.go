package fakeaws

// logsRegion is one region's CloudWatch Logs state.
type logsRegion struct {
	Groups map[string]*logGroup
}

type logGroup struct{}
