package policy

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
)

// nginxErrorPage is what nginx sends for status when APIcast's Lua ends a
// request with ngx.exit(status) and no body of its own (rate_limit's
// limits_exceeded_error and configuration_error): its special response
// (ngx_http_special_response.c), a text/html page, whose tail is that of
// server_tokens off, which APIcast's nginx.conf sets and OpenResty signs
// "openresty". A status nginx has no page for (1xx, 201, 204, 422, ...) is
// sent with an empty body and no content type. Clients that tell APIcast's
// refusals apart by their body or content type see the same bytes; nginx's
// padding for MSIE and Chrome user agents (msie_padding), a browser
// workaround, is left out. Pages are built once, when a policy is built.
func nginxErrorPage(status int) (contentType string, body []byte) {
	if !slices.Contains(nginxPageStatuses, status) {
		return "", nil
	}
	line := strconv.Itoa(status) + " " + cmp.Or(nginxOldTitles[status], http.StatusText(status))
	return "text/html", []byte("<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" + line +
		"</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")
}

// nginxPageStatuses are the statuses nginx has a page for; its own codes
// 494-498, which no configuration names, are left out.
var nginxPageStatuses = []int{301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 408, 409, 410, 411,
	412, 413, 414, 415, 416, 421, 429, 500, 501, 502, 503, 504, 505, 507}

// nginxOldTitles are nginx's titles where they are older than Go's
// http.StatusText; the others are the same.
var nginxOldTitles = map[int]string{
	401: "Authorization Required",
	405: "Not Allowed",
	408: "Request Time-out",
	414: "Request-URI Too Large",
	503: "Service Temporarily Unavailable",
	504: "Gateway Time-out",
}
