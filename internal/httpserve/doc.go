// Package httpserve builds the net/http servers behind Portolan's listeners
// (the coordinator, the agent's local API and metrics, the management
// proxy) with every input bounded: header size and time, body time, idle
// time, connections open at once, and the time a client may take nothing
// of an answer (on a listener wrapped by Listener; on HTTP/2 streams
// always). The gateway's own HTTP/1.1 loop (internal/http1) has its bounds
// of its own.
//
// It imports nothing of Portolan.
package httpserve
