package threescale

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Format is the wire representation of a request's response.
type Format int

// The formats 3scale serves.
const (
	JSON Format = iota
	XML
)

// String returns "json" or "xml".
func (f Format) String() string {
	if f == XML {
		return "xml"
	}
	return "json"
}

// ContentType is the Content-Type header value for responses in f.
func (f Format) ContentType() string {
	if f == XML {
		return "application/xml; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// FormatOf chooses the response format of r and returns the request path
// without its format suffix. A ".json" or ".xml" suffix wins over the Accept
// header, because 3scale routes by suffix and the official client sends
// "Accept: application/xml" to some .json endpoints. Without a suffix the
// Accept header decides; anything unrecognised means JSON.
func FormatOf(r *http.Request) (Format, string) {
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, ".json"):
		return JSON, strings.TrimSuffix(path, ".json")
	case strings.HasSuffix(path, ".xml"):
		return XML, strings.TrimSuffix(path, ".xml")
	}
	return acceptFormat(r.Header.Values("Accept")), path
}

// acceptFormat picks JSON or XML by the highest q-value among the media
// ranges naming one of them; earlier entries win ties.
func acceptFormat(headers []string) Format {
	best, bestQ := JSON, 0.0
	for _, h := range headers {
		for _, entry := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
			if err != nil {
				continue
			}
			var f Format
			switch {
			case mt == "application/json" || strings.HasSuffix(mt, "+json"):
				f = JSON
			case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
				f = XML
			default:
				continue
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if v, err := strconv.ParseFloat(qs, 64); err == nil {
					q = v
				}
			}
			if q > bestQ {
				best, bestQ = f, q
			}
		}
	}
	return best
}
