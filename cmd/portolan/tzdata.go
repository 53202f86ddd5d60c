package main

// The image is FROM scratch, with no /usr/share/zoneinfo: the Analytics
// API's timezone parameter needs the tz database inside the binary.
import _ "time/tzdata"
