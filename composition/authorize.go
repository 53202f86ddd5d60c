package composition

import (
	"crypto/subtle"
	"errors"
	"sort"
	"strconv"
	"time"
)

// Credentials name an application the way 3scale's Service Management API
// does: a user_key, or an app_id with (when the application has keys) an app_key.
type Credentials struct{ UserKey, AppID, AppKey string }

// Empty reports whether the credentials name no application at all.
func (c Credentials) Empty() bool { return c.UserKey == "" && c.AppID == "" }

// Denial codes, as apisonator names its errors.
const (
	DenialServiceIDInvalid     = "service_id_invalid"
	DenialApplicationNotFound  = "application_not_found"
	DenialUserKeyInvalid       = "user_key_invalid"
	DenialAppKeyInvalid        = "application_key_invalid"
	DenialAuthenticationError  = "authentication_error"
	DenialApplicationNotActive = "application_not_active"
	DenialLimitsExceeded       = "limits_exceeded"
	// The OAuth variants' (oauth_authorize, oauth_authrep) own.
	DenialOAuthNotEnabled    = "oauth_not_enabled"
	DenialRedirectURLInvalid = "redirect_url_invalid"
	DenialRedirectURIInvalid = "redirect_uri_invalid"
	DenialAccessTokenInvalid = "access_token_invalid"
)

// Denial is why a request is refused, with apisonator's error code and reason
// text. Reasons never repeat a credential.
type Denial struct {
	Code   string
	Reason string
}

// Rejection reports whether the denial is one apisonator answers with a status
// document (authorized false, HTTP 409) rather than an error document: the
// application was found but is not active, its key does not match, its
// referrer or (OAuth) redirect URL is refused, OAuth is off for its service,
// or it is over its limits.
func (d *Denial) Rejection() bool {
	switch d.Code {
	case DenialApplicationNotActive, DenialAppKeyInvalid, DenialLimitsExceeded, DenialReferrerNotAllowed,
		DenialOAuthNotEnabled, DenialRedirectURLInvalid, DenialRedirectURIInvalid:
		return true
	}
	return false
}

// LimitsExceeded is the denial of a request that would pass a usage limit.
var LimitsExceeded = Denial{Code: DenialLimitsExceeded, Reason: "usage limits are exceeded"}

// Authenticate finds the application of serviceID that cred names (user_key, or
// app_id plus app_key when the application has keys) and its plan. A nil
// *Denial means found and live. When the application exists but is refused
// (key mismatch, not active) it is returned with its plan beside the denial.
// It scans the applications; NewAppIndex answers the same in constant time.
func (c *Composition) Authenticate(serviceID int64, cred Credentials) (*Application, *ApplicationPlan, *Denial) {
	if _, ok := c.Services.Get(serviceID); !ok {
		return nil, nil, serviceInvalid(serviceID)
	}
	return c.authenticate(cred, func(userKey, appID string) *Application {
		app, _ := c.Applications.Find(func(a *Application) bool {
			return a.ServiceID == serviceID && (userKey != "" && a.UserKey == userKey || appID != "" && a.AppID == appID)
		})
		return app
	}, keyMatches)
}

// keyMatches reports whether key is one of the application's keys.
func keyMatches(app *Application, key string) bool { return hasKey(app.AppKeys, key) }

// AppIndex finds the applications of one service by credential in constant
// time. Build one per snapshot and service; it is immutable. Over an
// agent's view (c has a CredentialKey) its keys are raw digests, and
// Authenticate hashes what it is given.
type AppIndex struct {
	c         *Composition
	serviceID int64
	byUserKey map[string]*Application
	byAppID   map[string]*Application
	hasher    *credentialHasher  // nil: plaintext credentials
	appKeys   map[int64][][]byte // raw digests of each application's keys, when hashed
}

// NewAppIndex indexes the applications of serviceID in c.
func NewAppIndex(c *Composition, serviceID int64) *AppIndex {
	x := &AppIndex{c: c, serviceID: serviceID, byUserKey: map[string]*Application{}, byAppID: map[string]*Application{}}
	key := func(s string) string { return s }
	if len(c.CredentialKey) > 0 {
		x.hasher, x.appKeys, key = newCredentialHasher(c.CredentialKey), map[int64][][]byte{}, decodeDigest
	}
	for _, a := range c.Applications.Filter(func(a *Application) bool { return a.ServiceID == serviceID }) {
		if k := key(a.UserKey); k != "" {
			x.byUserKey[k] = a
		}
		if k := key(a.AppID); k != "" {
			x.byAppID[k] = a
		}
		if x.hasher != nil {
			for _, s := range a.AppKeys {
				if k := key(s); k != "" {
					x.appKeys[a.ID] = append(x.appKeys[a.ID], []byte(k))
				}
			}
		}
	}
	return x
}

// Authenticate is Composition.Authenticate for the index's service.
func (x *AppIndex) Authenticate(cred Credentials) (*Application, *ApplicationPlan, *Denial) {
	if _, ok := x.c.Services.Get(x.serviceID); !ok {
		return nil, nil, serviceInvalid(x.serviceID)
	}
	if x.hasher != nil {
		return x.hashedAuthenticate(cred)
	}
	return x.c.authenticate(cred, func(userKey, appID string) *Application {
		if userKey != "" {
			return x.byUserKey[userKey]
		}
		return x.byAppID[appID]
	}, keyMatches)
}

func serviceInvalid(serviceID int64) *Denial {
	return &Denial{Code: DenialServiceIDInvalid, Reason: `service id "` + strconv.FormatInt(serviceID, 10) + `" is invalid`}
}

// authenticate applies apisonator's rules, finding applications with find
// (given a user_key, or an app_id) and checking an app_key with keyOK.
func (c *Composition) authenticate(cred Credentials, find func(userKey, appID string) *Application,
	keyOK func(app *Application, key string) bool) (*Application, *ApplicationPlan, *Denial) {
	var app *Application
	switch {
	case cred.AppID != "" && cred.UserKey != "":
		return nil, nil, &Denial{Code: DenialAuthenticationError, Reason: "either app_id or user_key is allowed, not both"}
	case cred.AppID != "":
		if app = find("", cred.AppID); app == nil {
			return nil, nil, &Denial{Code: DenialApplicationNotFound, Reason: `application with id="` + clipID(cred.AppID) + `" was not found`}
		}
	case cred.UserKey != "":
		if app = find(cred.UserKey, ""); app == nil {
			return nil, nil, &Denial{Code: DenialUserKeyInvalid, Reason: "user key is invalid"}
		}
	default:
		return nil, nil, &Denial{Code: DenialApplicationNotFound, Reason: `application with id="" was not found`}
	}
	plan, _ := c.ApplicationPlans.Get(app.PlanID)
	if cred.AppID != "" && len(app.AppKeys) > 0 && !keyOK(app, cred.AppKey) {
		reason := "application key is invalid"
		if cred.AppKey == "" {
			reason = "application key is missing"
		}
		return app, plan, &Denial{Code: DenialAppKeyInvalid, Reason: reason}
	}
	if app.State != AppLive {
		return app, plan, &Denial{Code: DenialApplicationNotActive, Reason: "application is not active"}
	}
	return app, plan, nil
}

// clipID bounds an id echoed in a reason.
func clipID(id string) string {
	const max = 64
	if len(id) > max {
		return id[:max]
	}
	return id
}

// hasKey compares key with every one of keys in constant time.
func hasKey(keys []string, key string) bool {
	found := 0
	for _, k := range keys {
		found |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return found == 1
}

// Counter returns the current value of an application's metric in the period
// starting at start (the zero time for eternity).
type Counter func(appID, metricID int64, period string, start time.Time) int64

// UsageReport is the state of one usage limit of an application.
type UsageReport struct {
	MetricID   int64
	Metric     string // the metric's system_name
	Period     string
	Start, End time.Time // zero for eternity
	Max        int64
	Current    int64 // before this request's usage is added
	Usage      int64 // what this request adds to the metric (0 when it names none)
	Exceeded   bool  // Current + Usage > Max; a limit of 0 disables the metric
}

// CheckLimits evaluates usage (hits from Matcher.Match, or usage[metric]=n
// resolved to metric ids; a method's usage must already include its parent's)
// against every usage limit of the application's plan, with current giving
// the values so far. exceeded reports whether admitting the usage would pass a
// limit: with usage, only the limits of the metrics it names are checked (3scale's
// authorize semantics); with none, any limit already passed denies.
func (c *Composition) CheckLimits(app *Application, usage []Hit, current Counter, now time.Time) (reports []UsageReport, exceeded bool) {
	limits := c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == app.PlanID })
	reports = make([]UsageReport, 0, len(limits))
	for _, l := range limits {
		r := UsageReport{MetricID: l.MetricID, Period: l.Period, Max: l.Value}
		if m, ok := c.Metrics.Get(l.MetricID); ok {
			r.Metric = m.SystemName
		}
		r.Start, r.End = PeriodBounds(l.Period, now)
		r.Current = current(app.ID, l.MetricID, l.Period, r.Start)
		named := false
		for _, h := range usage {
			if h.MetricID == l.MetricID {
				r.Usage = AddSaturating(r.Usage, h.Delta)
				named = true
			}
		}
		r.Exceeded = AddSaturating(r.Current, r.Usage) > r.Max
		if r.Exceeded && (named || len(usage) == 0) {
			exceeded = true
		}
		reports = append(reports, r)
	}
	sort.SliceStable(reports, func(i, j int) bool {
		if reports[i].Metric != reports[j].Metric {
			return reports[i].Metric < reports[j].Metric
		}
		return periodRank(reports[i].Period) < periodRank(reports[j].Period)
	})
	return reports, exceeded
}

// ErrLimitsExceeded is the agent's usage ledger's answer when admitting
// usage would pass a limit: the gateway, which must not import the ledger,
// tells it from the ledger's other failures with errors.Is.
var ErrLimitsExceeded = errors.New("usage limit exceeded")

// ExceedsLimits reports what CheckLimits reports as exceeded for non-empty
// usage, given limits, the usage limits of the application's plan, chosen
// once by the caller: no reports are built, nothing is allocated. It is the
// gateway's check on every request.
func ExceedsLimits(limits []*UsageLimit, app *Application, usage []Hit, current Counter, now time.Time) bool {
	for _, l := range limits {
		var delta int64
		named := false
		for _, h := range usage {
			if h.MetricID == l.MetricID {
				delta = AddSaturating(delta, h.Delta)
				named = true
			}
		}
		if !named {
			continue
		}
		start, _ := PeriodBounds(l.Period, now)
		if AddSaturating(current(app.ID, l.MetricID, l.Period, start), delta) > l.Value {
			return true
		}
	}
	return false
}

func periodRank(p string) int {
	for i, q := range Periods {
		if q == p {
			return i
		}
	}
	return len(Periods)
}
