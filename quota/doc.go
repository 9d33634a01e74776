// Package quota holds predict calls under a Clarifai account's quota
// (calls per second). Local limits one process; throttling answers pause
// every call and lower the rate until clean calls bring it back.
package quota
