package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The demo's last act: the consumer calls the news API through a gateway
// more often than the Basic plan allows.
const (
	hitsPerMinute = 5 // the Basic plan's limit on hits
	gatewayCalls  = 7 // calls made through the gateway: hitsPerMinute answered 200, the rest 429

	// minuteMargin is how much of the current minute must be left for the
	// calls and the usage report to fall into it; with less, the demo waits
	// for the next minute.
	minuteMargin = 10 * time.Second
)

// gatewayAgent is an agent of the demo with its gateway.
type gatewayAgent struct{ name, gateway string }

// consumerApp is the consumer's application, as the Account Management API serves it.
type consumerApp struct{ id, name, userKey string }

// application reads the consumer's application id of account acct.
func (c *client) application(acct, id string) (consumerApp, error) {
	for _, app := range c.items("/admin/api/accounts/"+acct+"/applications.json", "applications", "application") {
		if fmt.Sprint(app["id"]) == id {
			name, _ := app["name"].(string)
			key, _ := app["user_key"].(string)
			if key == "" {
				return consumerApp{}, fmt.Errorf("application %s of account %s has no user_key", id, acct)
			}
			return consumerApp{id: id, name: name, userKey: key}, nil
		}
	}
	if c.err != nil {
		return consumerApp{}, c.err
	}
	return consumerApp{}, fmt.Errorf("account %s has no application %s", acct, id)
}

// limitDemo calls the news API through ag's gateway with app's user_key
// gatewayCalls times, printing each answer, checks that the first
// hitsPerMinute are 200 and the rest 429, then waits for ag to report the
// usage and prints home's figures for the application.
func limitDemo(ctx context.Context, api *client, svc string, app consumerApp, ag gatewayAgent) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + ag.gateway
	if err := waitGateway(ctx, hc, base); err != nil {
		return fmt.Errorf("gateway of %s: %w", ag.name, err)
	}

	step("Calling the news API %d times through %s's gateway on %s, with the user_key of application %q (plan Basic: %d hits a minute)",
		gatewayCalls, ag.name, ag.gateway, app.name, hitsPerMinute)
	if err := startOfMinute(ctx); err != nil {
		return err
	}
	path := "/articles?user_key=" + url.QueryEscape(app.userKey)
	shown := "/articles?user_key=" + app.userKey[:min(8, len(app.userKey))] + "…"
	var got []int
	for i := 1; i <= gatewayCalls; i++ {
		status, note, err := call(ctx, hc, base+path)
		if err != nil {
			return fmt.Errorf("call %d through the gateway of %s: %w", i, ag.name, err)
		}
		got = append(got, status)
		fmt.Printf("  call %d: GET %s  %d %-17s  %s\n", i, shown, status, http.StatusText(status), note)
	}
	last := time.Now()
	for i, status := range got {
		want := http.StatusOK
		if i >= hitsPerMinute {
			want = http.StatusTooManyRequests
		}
		if status != want {
			return fmt.Errorf("the gateway answered %v: want %d answers 200, then 429", got, hitsPerMinute)
		}
	}

	step("The usage at home, once %s has reported it (every --report-interval: 1s)", ag.name)
	st, err := waitUsage(ctx, api, svc, app.userKey, hitsPerMinute)
	if err != nil {
		return err
	}
	fmt.Printf("  home counted the %d hits %.1fs after the last call\n", hitsPerMinute, time.Since(last).Seconds())
	r := st.minuteHits()
	fmt.Printf("  Service Management API (authorize.xml):  hits this minute (%s-%s UTC): %d of %d\n",
		clock(r.PeriodStart), clock(r.PeriodEnd), r.CurrentValue, r.MaxValue)
	day := last.UTC().Format(time.DateOnly)
	out, err := api.do("GET", "/stats/applications/"+app.id+"/usage.json?metric_name=hits&period=day&granularity=day&since="+day, nil)
	if err != nil {
		return fmt.Errorf("analytics of application %s: %w", app.id, err)
	}
	total, _ := out["total"].(float64)
	fmt.Printf("  Analytics API (usage.json):              hits today (%s UTC): %.0f\n", day, total)
	if total != hitsPerMinute {
		return fmt.Errorf("analytics of application %s: %.0f hits today, want %d", app.id, total, hitsPerMinute)
	}
	return nil
}

// waitGateway waits until the gateway has its composition and placement: a
// call without credentials is then refused with 403 (and counts nothing)
// rather than 503.
func waitGateway(ctx context.Context, hc *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		status, _, err := call(ctx, hc, base+"/articles")
		if err == nil && status != http.StatusServiceUnavailable {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("answers %d", status)
			}
			return fmt.Errorf("not ready within 20s: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startOfMinute waits for the next UTC minute when less than minuteMargin
// is left of this one: limits and home's minute counter are per calendar
// minute, and all the calls and their report should fall into one.
func startOfMinute(ctx context.Context) error {
	now := time.Now().UTC()
	left := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	if left >= minuteMargin {
		return nil
	}
	fmt.Printf("  (waiting %.1fs for the next minute, so that all %d calls fall into one)\n", left.Seconds(), gatewayCalls)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(left):
		return nil
	}
}

// call GETs u and returns the status and a note: the instance that answered,
// or the gateway's error text.
func call(ctx context.Context, hc *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", withoutURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", fmt.Errorf("read answer: %w", err)
	}
	if by := resp.Header.Get("X-Served-By"); by != "" {
		return resp.StatusCode, "answered by " + by, nil
	}
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// smStatus is the Service Management API's <status> document, as far as the demo reads it.
type smStatus struct {
	Reports []smReport `xml:"usage_reports>usage_report"`
}

// smReport is a <usage_report> of a <status>.
type smReport struct {
	Metric       string `xml:"metric,attr"`
	Period       string `xml:"period,attr"`
	PeriodStart  string `xml:"period_start"`
	PeriodEnd    string `xml:"period_end"`
	MaxValue     int64  `xml:"max_value"`
	CurrentValue int64  `xml:"current_value"`
}

// minuteHits is the usage report of hits per minute; zero when there is none.
func (s *smStatus) minuteHits() smReport {
	for _, r := range s.Reports {
		if r.Metric == "hits" && r.Period == "minute" {
			return r
		}
	}
	return smReport{}
}

// waitUsage asks home's authorize.xml, which counts nothing, until the
// application's hits this minute reach want, for at most 15s.
func waitUsage(ctx context.Context, api *client, svc, userKey string, want int64) (*smStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	q := url.Values{"service_token": {api.token}, "service_id": {svc}, "user_key": {userKey}}
	u := api.base + "/transactions/authorize.xml?" + q.Encode()
	var seen int64
	for {
		st, err := authorize(ctx, api.http(), u)
		if err == nil {
			if seen = st.minuteHits().CurrentValue; seen >= want {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return nil, fmt.Errorf("home's usage of the application: %w", err)
			}
			return nil, fmt.Errorf("home counted %d hits this minute, not %d, within 15s", seen, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// authorize GETs an authorize.xml URL: 200 when authorized, 409 when not.
func authorize(ctx context.Context, hc *http.Client, u string) (*smStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("bad authorize.xml request") // the URL holds the token
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, withoutURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read authorize.xml: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return nil, fmt.Errorf("authorize.xml: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var st smStatus
	if err := xml.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("authorize.xml: %w", err)
	}
	return &st, nil
}

// withoutURL drops the URL from an HTTP client error: it may hold a token.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// clock shows the time of day of a period bound like "2026-11-27 22:14:00
// +0000", as HH:MM:SS in UTC.
func clock(s string) string {
	for _, layout := range []string{"2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.TimeOnly)
		}
	}
	return s
}
