// Command worker turns image events on NATS JetStream into predictions.
//
//	worker [run] [flags]   the worker (every flag is also an env variable)
//	worker demo            everything on embedded defaults, with sample images
//	worker emit PATH|URL…  publish image events
//	worker tail            print results and dead letters
//	worker version
package main
