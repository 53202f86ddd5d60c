package registry

// statusCode is an instance's status as its record keeps it: a byte rather
// than a string, one pointer fewer for the collector to follow in every
// record at every cycle (BENCHMARKS.md, goal 4).
type statusCode uint8

const (
	codePassing statusCode = iota
	codeWarning
	codeCritical
	codeDraining
)

// statusNames are the statuses by code.
var statusNames = [...]string{codePassing: StatusPassing, codeWarning: StatusWarning, codeCritical: StatusCritical, codeDraining: StatusDraining}

// String is the status the protocol and the map write.
func (c statusCode) String() string { return statusNames[c] }

// statusCodeOf is the code of s, a status validateStatus accepted (or
// StatusDraining); anything else is critical.
func statusCodeOf(s string) statusCode {
	switch s {
	case StatusPassing:
		return codePassing
	case StatusWarning:
		return codeWarning
	case StatusDraining:
		return codeDraining
	}
	return codeCritical
}
