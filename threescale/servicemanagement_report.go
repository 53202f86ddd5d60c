package threescale

import (
	"cmp"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// serveReport answers POST /transactions.xml: every transaction is checked
// first, then all of them are added at once, or none. As apisonator, the
// body is form-encoded or multipart/form-data; any other Content-Type is
// refused with content_type_invalid before anything else is read. A body
// without a Content-Type is read as a form, as Rack reads it
// (Request#form_data?) and apisonator allows it.
func (sm *ServiceManagement) serveReport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	parse := r.ParseForm
	if r.Header.Get("Content-Type") == "" {
		// ParseForm reads a body only when it is said to be a form.
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && mt == "application/x-www-form-urlencoded":
		case err == nil && mt == "multipart/form-data":
			parse = func() error { return r.ParseMultipartForm(MaxBodyBytes) }
			defer func() {
				if r.MultipartForm != nil {
					_ = r.MultipartForm.RemoveAll()
				}
			}()
		default:
			writeSMError(w, &smError{http.StatusBadRequest, "content_type_invalid", "invalid Content-Type: " + clip(ct)})
			return
		}
	}
	if err := parse(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeSMError(w, &smError{http.StatusRequestEntityTooLarge, "bad_request",
				fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)})
			return
		}
		if tooManyFields(err) {
			writeSMError(w, &smError{http.StatusRequestEntityTooLarge, "bad_request", fmt.Sprintf(
				"the form has more than %d fields, the most one request may have: send the transactions in several reports",
				maxFormFields)})
			return
		}
		writeSMError(w, &smError{http.StatusBadRequest, "bad_request", "malformed form body"})
		return
	}
	params := rackParams(r.URL.Query(), r.PostForm)
	snap := sm.snapshot()
	svc, e := sm.service(snap, params, true)
	if e != nil {
		writeSMError(w, e)
		return
	}
	idx, e := transactionIndexes(params)
	if e == nil {
		e = reportEndUsersError(params)
	}
	if e != nil {
		writeSMError(w, e)
		return
	}
	now := sm.now()
	flat := option(smOptions(r), "flat_usage")
	var incs []UsageIncrement
	for _, i := range idx {
		prefix := "transactions[" + i + "]"
		if e := reportUsageShapeError(params, prefix+"[usage]"); e != nil {
			writeSMError(w, e)
			return
		}
		cred := credentialsOf(params, prefix)
		cred.AppKey = "" // report checks that the application exists, not its key
		if cred.AppID != "" && cred.UserKey != "" {
			writeSMError(w, &smError{http.StatusForbidden, composition.DenialAuthenticationError,
				"either app_id or user_key is allowed, not both"})
			return
		}
		app, _, denial := sm.AppIndex(snap, svc.ID).Authenticate(cred)
		if app == nil {
			writeSMError(w, denialError(denial))
			return
		}
		hits, _, e := usageOf(snap, svc.ID, params, prefix+"[usage]", flat, false)
		if e != nil {
			writeSMError(w, e)
			return
		}
		at := now
		if ts := params.Get(prefix + "[timestamp]"); ts != "" {
			t, err := parseTimestamp(ts)
			if err != nil {
				writeSMError(w, &smError{http.StatusBadRequest, "bad_request", "transaction timestamp is invalid"})
				return
			}
			if t.Before(now.Add(-24*time.Hour)) || t.After(now.Add(time.Hour)) {
				writeSMError(w, &smError{http.StatusConflict, "transaction_timestamp_not_within_range",
					"transaction timestamp must be within 24 hours before and 1 hour after now"})
				return
			}
			at = t
		}
		for _, h := range hits {
			if h.Delta != 0 {
				incs = append(incs, UsageIncrement{ApplicationID: app.ID, MetricID: h.MetricID, At: at, Delta: h.Delta})
			}
		}
	}
	if len(incs) > 0 {
		if err := sm.counters.Add(r.Context(), svc.ID, incs); err != nil {
			writeSMError(w, &smError{http.StatusInternalServerError, "internal_error", "usage could not be stored"})
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", SMContentType)
	w.WriteHeader(http.StatusAccepted)
}

// reportUsageShapeError refuses a reported transaction's usage that is not
// a hash of metric names to values. apisonator's listener does not check
// it: its Transactor.report then calls delete_if on a string usage
// (filter_metrics_without_inc), whose NoMethodError is a 500, and queues an
// array one for its ReportJob to refuse out of the client's sight. A 400
// naming the field says what to fix, and that retrying, as a 500 invites,
// cannot help. A usage mixing a hash with another form fails Rack's parser:
// 400 bad_request, as for authorize.
func reportUsageShapeError(params url.Values, name string) *smError {
	switch usageShapeAt(params, name) {
	case usageNotHash:
		return &smError{http.StatusBadRequest, "transactions_format_invalid",
			name + " must be a hash of metric names to values, as " + name + "[hits]=1"}
	case usageUnparsable:
		return &smError{http.StatusBadRequest, "bad_request",
			"request contains syntax errors, should not be repeated without modification"}
	}
	return nil
}

// transactionIndexes returns the indexes of transactions[i][...] as sent,
// in numeric order (then as strings). They stay strings: Rack keys
// transactions by them, so transactions[1] and transactions[01] are two
// transactions, both counted.
func transactionIndexes(params url.Values) ([]string, *smError) {
	seen := map[string]uint64{}
	for k := range params {
		rest, ok := strings.CutPrefix(k, "transactions[")
		if !ok {
			continue
		}
		raw, _, ok := strings.Cut(rest, "]")
		n, err := strconv.ParseUint(raw, 10, 63)
		if !ok || err != nil { // digits only: no sign, no space
			return nil, &smError{http.StatusBadRequest, "transactions_format_invalid", "transactions parameter has an invalid format"}
		}
		seen[raw] = n
		if len(seen) > MaxTransactions {
			return nil, &smError{http.StatusRequestEntityTooLarge, "bad_request",
				fmt.Sprintf("a report holds at most %d transactions", MaxTransactions)}
		}
	}
	if len(seen) == 0 {
		return nil, &smError{http.StatusBadRequest, "transactions_is_blank", "transactions parameter is blank"}
	}
	out := make([]string, 0, len(seen))
	for raw := range seen {
		out = append(out, raw)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(seen[a], seen[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out, nil
}

// maxFormFields is Go's bound on the fields of a form (net/url's
// defaultMaxParams, GODEBUG urlmaxqueryparams).
const maxFormFields = 10000

// tooManyFields reports whether err is net/url's refusal of a form with
// more than maxFormFields fields. net/url exports no error to match, so its
// message is.
func tooManyFields(err error) bool {
	return strings.Contains(err.Error(), "query parameters exceeded limit")
}

// parseTimestamp reads apisonator's transaction timestamps: unix seconds, or
// "YYYY-MM-DD HH:MM:SS" in UTC with an optional " -08:00" offset.
func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05 -07:00", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want unix seconds or YYYY-MM-DD HH:MM:SS[ +HH:MM]", clip(s))
}
