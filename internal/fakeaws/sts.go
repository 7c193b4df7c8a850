package fakeaws

func stsService() *service {
	return &service{
		name:          "sts",
		signingName:   "sts",
		protocol:      protoQuery,
		xmlns:         "https://sts.amazonaws.com/doc/2011-06-15/",
		throttleErr:   APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "GetCallerIdentity", handle: stsGetCallerIdentity},
		},
	}
}

func stsGetCallerIdentity(c *call) (any, error) {
	return struct {
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
	}{
		Account: c.acct.ID,
		Arn:     "arn:aws:iam::" + c.acct.ID + ":user/fakeaws",
		UserID:  "AIDAFAKEAWSUSER000001",
	}, nil
}
