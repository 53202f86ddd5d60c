package policy

import "strconv"

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
	title, ok := nginxErrorTitles[status]
	if !ok {
		return "", nil
	}
	line := strconv.Itoa(status) + " " + title
	return "text/html", []byte("<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" + line +
		"</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")
}

// nginxErrorTitles are the statuses nginx has a page for, with its titles
// (some older than Go's http.StatusText: "Request Time-out", "Service
// Temporarily Unavailable"). nginx's own codes 494-498, which no
// configuration names, are left out.
var nginxErrorTitles = map[int]string{
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Authorization Required",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Not Allowed",
	406: "Not Acceptable",
	408: "Request Time-out",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Request Entity Too Large",
	414: "Request-URI Too Large",
	415: "Unsupported Media Type",
	416: "Requested Range Not Satisfiable",
	421: "Misdirected Request",
	429: "Too Many Requests",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Temporarily Unavailable",
	504: "Gateway Time-out",
	505: "HTTP Version Not Supported",
	507: "Insufficient Storage",
}
