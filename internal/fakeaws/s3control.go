package fakeaws

import (
	"encoding/xml"
	"net/http"
)

// s3controlState is the account-level S3 state served by S3 Control.
type s3controlState struct {
	// PublicAccessBlock is nil until one is set (a new account has none).
	PublicAccessBlock *publicAccessBlock
}

type publicAccessBlock struct {
	XMLName               xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ PublicAccessBlockConfiguration" json:"-"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func s3controlService() *service {
	return &service{
		name:          "s3control",
		signingName:   "s3",
		protocol:      protoRESTXML,
		xmlns:         "http://awss3control.amazonaws.com/doc/2018-08-20/",
		throttleErr:   APIError{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."},
		deniedErr:     APIError{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidToken", Message: "The provided token is malformed or otherwise invalid."},
		ops: []*op{
			{name: "GetPublicAccessBlock", method: http.MethodGet, path: "/v20180820/configuration/publicAccessBlock", handle: s3controlGetPublicAccessBlock},
			{name: "PutPublicAccessBlock", write: true, method: http.MethodPut, path: "/v20180820/configuration/publicAccessBlock", handle: s3controlPutPublicAccessBlock},
			{name: "DeletePublicAccessBlock", write: true, method: http.MethodDelete, path: "/v20180820/configuration/publicAccessBlock", handle: s3controlDeletePublicAccessBlock},
		},
	}
}

// checkAccountHeader enforces S3 Control's x-amz-account-id: it must name
// the caller's own account.
func checkAccountHeader(c *call) error {
	id := c.header.Get("X-Amz-Account-Id")
	if id == "" {
		return &APIError{Status: 400, Code: "InvalidRequest", Message: "Missing required header for this request: x-amz-account-id"}
	}
	if id != c.acct.ID {
		return &APIError{Status: 403, Code: "AccessDenied", Message: "Access Denied"}
	}
	return nil
}

func s3controlGetPublicAccessBlock(c *call) (any, error) {
	if err := checkAccountHeader(c); err != nil {
		return nil, err
	}
	if c.acct.S3Control.PublicAccessBlock == nil {
		return nil, &APIError{Status: 404, Code: "NoSuchPublicAccessBlockConfiguration",
			Message: "The public access block configuration was not found"}
	}
	return c.acct.S3Control.PublicAccessBlock, nil
}

func s3controlPutPublicAccessBlock(c *call) (any, error) {
	if err := checkAccountHeader(c); err != nil {
		return nil, err
	}
	var p publicAccessBlock
	if err := c.decodeXML(&p); err != nil {
		return nil, err
	}
	c.acct.S3Control.PublicAccessBlock = &p
	return nil, nil
}

func s3controlDeletePublicAccessBlock(c *call) (any, error) {
	if err := checkAccountHeader(c); err != nil {
		return nil, err
	}
	c.acct.S3Control.PublicAccessBlock = nil
	return restStatus(http.StatusNoContent), nil
}
