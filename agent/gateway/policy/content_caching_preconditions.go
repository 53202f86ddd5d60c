package policy

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// preconditionAnswer is what nginx's not_modified filter makes of a request's
// preconditions against a 200 answer that its proxy_cache may keep or
// serves from there (ngx_http_upstream sets disable_not_modified to
// !u->cacheable, so only such answers are judged, on a miss as on a hit):
// 0 to send the answer as it is, 304 Not Modified or 412 Precondition
// Failed.
//
// As nginx, in its order: If-Unmodified-Since fails (412) unless the answer
// has a Last-Modified no later than it; If-Match fails (412) unless it is
// "*" or lists the answer's ETag, compared as bytes (no weak comparison);
// then, when If-Modified-Since or If-None-Match is present, the answer is
// not modified (304) unless If-Modified-Since is not exactly the answer's
// Last-Modified (nginx's default if_modified_since exact; an answer without
// one is always modified) or If-None-Match lists no tag equal to the
// answer's ETag, either of them "W/" or not (weak comparison); unfiltered
// names the headers nginx_filters keeps from nginx's filters.
//
// Differences from nginx: a request that repeats one of these headers is
// judged on its first field line, where nginx refuses it (400, "client sent
// duplicate header line", for every request); a HEAD is judged on a hit
// only, as it is never fetched for the cache (nginx's
// proxy_cache_convert_head fetches it as a GET, and judges it on a miss
// too); and the upstream's answer behind a 412 on a miss is still read to
// its end (nginx ends the upstream request), though not kept.
func preconditionAnswer(req http.Header, unfiltered []string, resp http.Header) int {
	get := func(name string) (string, bool) {
		vs := req[name]
		if len(vs) == 0 || slices.Contains(unfiltered, name) {
			return "", false
		}
		return vs[0], true
	}
	lastModified, lmErr := http.ParseTime(resp.Get("Last-Modified"))
	hasLM := resp.Get("Last-Modified") != "" && lmErr == nil
	if v, ok := get("If-Unmodified-Since"); ok {
		t, err := http.ParseTime(v)
		if !hasLM || err != nil || t.Before(lastModified) {
			return http.StatusPreconditionFailed
		}
	}
	etag, hasETag := resp.Get("Etag"), len(resp["Etag"]) > 0
	if v, ok := get("If-Match"); ok && !etagListed(v, etag, hasETag, false) {
		return http.StatusPreconditionFailed
	}
	ims, hasIMS := get("If-Modified-Since")
	inm, hasINM := get("If-None-Match")
	if !hasIMS && !hasINM {
		return 0
	}
	if hasIMS && modifiedSince(ims, lastModified, hasLM) {
		return 0
	}
	if hasINM && !etagListed(inm, etag, hasETag, true) {
		return 0
	}
	return http.StatusNotModified
}

// modifiedSince is nginx's ngx_http_test_if_modified with
// if_modified_since exact: modified unless the date is the answer's
// Last-Modified to the second.
func modifiedSince(v string, lastModified time.Time, hasLM bool) bool {
	if !hasLM {
		return true
	}
	t, err := http.ParseTime(v)
	return err != nil || !t.Equal(lastModified)
}

// etagListed is nginx's ngx_http_test_if_match: whether list is "*" or
// names etag among its comma-separated tags, each compared as bytes up to
// optional white space; weak drops a "W/" before etag and before each tag.
func etagListed(list, etag string, hasETag, weak bool) bool {
	if list == "*" {
		return true
	}
	if !hasETag {
		return false
	}
	if weak {
		etag = strings.TrimPrefix(etag, "W/")
	}
	for list != "" {
		if weak && len(list) > 2 && strings.HasPrefix(list, "W/") {
			list = list[2:]
		}
		if strings.HasPrefix(list, etag) {
			rest := strings.TrimLeft(list[len(etag):], " \t")
			if rest == "" || rest[0] == ',' {
				return true
			}
		}
		if i := strings.IndexByte(list, ','); i >= 0 {
			list = strings.TrimLeft(list[i:], " \t,")
		} else {
			list = ""
		}
	}
	return false
}

// notModifiedHeader makes h the head of a 304 as nginx sends it: without
// Content-Type, Content-Length, Accept-Ranges and Content-Encoding, every
// other header (ETag, Last-Modified, Cache-Control, ...) kept.
func notModifiedHeader(h http.Header) {
	for _, name := range []string{"Content-Type", "Content-Length", "Accept-Ranges", "Content-Encoding"} {
		delete(h, name)
	}
}
