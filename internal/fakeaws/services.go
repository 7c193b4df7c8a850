package fakeaws

// allServices lists every service fakeaws serves.
func allServices() []*service {
	return []*service{
		stsService(),
		ec2Service(),
		withIAMRolePolicyOps(withIAMAccountOps(iamService())),
		s3controlService(),
		accessAnalyzerService(),
		s3Service(),
		kmsService(),
		cloudtrailService(),
		configService(),
		guarddutyService(),
		securityhubService(),
		detectiveService(),
		snsService(),
		eventBridgeService(),
		accountService(),
		budgetsService(),
		costExplorerService(),
		logsService(),
		cloudwatchService(),
	}
}
