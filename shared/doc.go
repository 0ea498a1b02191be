// Package shared is the chatapp wire protocol (../shared/PROTOCOL.md in the
// design docs): event names, payload structs, answer codes, validation limits,
// and the Engine.IO v4 / Socket.IO v5 packet codec.
//
// Both the server and the WebAssembly client build it, so it imports nothing
// outside the standard library. Everything here is safe for concurrent use:
// it holds no state.
package shared
