package fakeaws

import (
	"fmt"
	"net/http"
	"net/mail"
)

// accountContacts is the AWS Account service's state: the account's
// alternate contacts by type (BILLING, OPERATIONS, SECURITY).
type accountContacts struct {
	AlternateContacts map[string]*alternateContact
}

type alternateContact struct {
	AlternateContactType string `json:"AlternateContactType"`
	EmailAddress         string `json:"EmailAddress"`
	Name                 string `json:"Name"`
	PhoneNumber          string `json:"PhoneNumber"`
	Title                string `json:"Title"`
}

// accountService is the AWS Account API (REST-JSON, global, signed for
// us-east-1).
func accountService() *service {
	return &service{
		name:          "account",
		signingName:   "account",
		protocol:      protoRESTJSON,
		global:        true,
		throttleErr:   APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "AccessDeniedException", Message: "not enabled"},
		ops: []*op{
			{name: "GetAlternateContact", method: http.MethodPost, path: "/getAlternateContact", handle: acctGetAlternateContact},
			{name: "PutAlternateContact", write: true, method: http.MethodPost, path: "/putAlternateContact", handle: acctPutAlternateContact},
			{name: "DeleteAlternateContact", write: true, method: http.MethodPost, path: "/deleteAlternateContact", handle: acctDeleteAlternateContact},
		},
	}
}

var alternateContactTypes = map[string]bool{"BILLING": true, "OPERATIONS": true, "SECURITY": true}

func acctValidation(msg string) *APIError {
	return &APIError{Status: 400, Code: "ValidationException", Message: msg}
}

// acctContactType reads and checks the AlternateContactType of a request
// that names only the type (and, for organizations, an AccountId).
func acctContactType(c *call) (string, error) {
	var in struct {
		AccountId            string
		AlternateContactType string
	}
	if err := c.decodeJSON(&in); err != nil {
		return "", err
	}
	if err := acctCheckAccount(c, in.AccountId); err != nil {
		return "", err
	}
	if !alternateContactTypes[in.AlternateContactType] {
		return "", acctValidation(fmt.Sprintf("1 validation error detected: Value '%s' at 'alternateContactType' failed to satisfy constraint: Member must satisfy enum value set: [SECURITY, BILLING, OPERATIONS]", in.AlternateContactType))
	}
	return in.AlternateContactType, nil
}

// acctCheckAccount refuses an AccountId other than the caller's: only an
// organization's management account may name another account.
func acctCheckAccount(c *call, id string) error {
	if id != "" && id != c.acct.ID {
		return &APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform this action on account " + id}
	}
	return nil
}

func acctContactNotFound() *APIError {
	return &APIError{Status: 404, Code: "ResourceNotFoundException", Message: "No contact of the inputted alternate contact type found."}
}

func acctGetAlternateContact(c *call) (any, error) {
	typ, err := acctContactType(c)
	if err != nil {
		return nil, err
	}
	contact, ok := c.acct.Account.AlternateContacts[typ]
	if !ok {
		return nil, acctContactNotFound()
	}
	return struct{ AlternateContact *alternateContact }{contact}, nil
}

func acctPutAlternateContact(c *call) (any, error) {
	var in struct {
		AccountId string
		alternateContact
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := acctCheckAccount(c, in.AccountId); err != nil {
		return nil, err
	}
	contact := in.alternateContact
	if !alternateContactTypes[contact.AlternateContactType] {
		return nil, acctValidation("Invalid AlternateContactType: " + contact.AlternateContactType)
	}
	if contact.Name == "" || contact.Title == "" || contact.PhoneNumber == "" || contact.EmailAddress == "" {
		return nil, acctValidation("Name, Title, EmailAddress and PhoneNumber are required")
	}
	if _, err := mail.ParseAddress(contact.EmailAddress); err != nil {
		return nil, acctValidation("Invalid EmailAddress: " + contact.EmailAddress)
	}
	c.acct.Account.AlternateContacts[contact.AlternateContactType] = &contact
	return nil, nil
}

func acctDeleteAlternateContact(c *call) (any, error) {
	typ, err := acctContactType(c)
	if err != nil {
		return nil, err
	}
	if _, ok := c.acct.Account.AlternateContacts[typ]; !ok {
		return nil, acctContactNotFound()
	}
	delete(c.acct.Account.AlternateContacts, typ)
	return nil, nil
}
