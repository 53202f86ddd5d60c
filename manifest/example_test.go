package manifest_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/portolan/portolan/manifest"
)

func ExampleDecode() {
	const doc = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
metrics:
- system_name: hits
  methods:
  - system_name: list_articles
mapping_rules:
- {http_method: GET, pattern: /articles, metric: list_articles, delta: 1}
plans:
- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: dai, value: 1000}
`
	_, err := manifest.Decode(strings.NewReader(doc), "news.yaml")
	fmt.Println(err)

	docs, err := manifest.Decode(strings.NewReader(strings.Replace(doc, "dai", "day", 1)), "news.yaml")
	if err != nil {
		panic(err)
	}
	fmt.Println(docs[0].Kind, docs[0].Name(), docs[0].Service.Plans[0].Limits[0].Period)
	if err := manifest.Encode(os.Stdout, docs, "json"); err != nil {
		panic(err)
	}
	// Output:
	// news.yaml:15: document 1 (Service "news"): plans[basic].limits[0].period: "dai" is not one of eternity, year, month, week, day, hour, minute
	// Service news day
	// [
	//   {
	//     "apiVersion": "portolan.dev/v1",
	//     "kind": "Service",
	//     "system_name": "news",
	//     "name": "News",
	//     "metrics": [
	//       {
	//         "system_name": "hits",
	//         "methods": [
	//           {
	//             "system_name": "list_articles"
	//           }
	//         ]
	//       }
	//     ],
	//     "mapping_rules": [
	//       {
	//         "http_method": "GET",
	//         "pattern": "/articles",
	//         "metric": "list_articles",
	//         "delta": 1
	//       }
	//     ],
	//     "plans": [
	//       {
	//         "system_name": "basic",
	//         "name": "Basic",
	//         "limits": [
	//           {
	//             "metric": "hits",
	//             "period": "day",
	//             "value": 1000
	//           }
	//         ]
	//       }
	//     ]
	//   }
	// ]
}
