// SPDX-License-Identifier: MIT

package stunx

import (
	"net"
	"testing"

	"github.com/pion/stun"
)

// BenchmarkPion measures the allocations of the pion/stun operations the
// ICE data path relies on, to notice changes when pion is upgraded. Run
// with: go test -run='^$' -bench=Pion -benchmem
func BenchmarkPion(b *testing.B) {
	key := []byte(rfc5769Password)
	xma := stun.XORMappedAddress{IP: net.ParseIP("192.0.2.1"), Port: 32853}
	tests := []struct {
		name string
		f    func(b *testing.B)
	}{
		{"Decode into reused Message", func(b *testing.B) {
			m := new(stun.Message)
			for b.Loop() {
				if err := stun.Decode(rfc5769Request, m); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"Decode error", func(b *testing.B) {
			m := new(stun.Message)
			bad := append([]byte(nil), rfc5769Request...)
			bad[4] = 0 // no magic cookie
			for b.Loop() {
				_ = stun.Decode(bad, m)
			}
		}},
		{"Build with values", func(b *testing.B) {
			m := new(stun.Message)
			for b.Loop() {
				_ = m.Build(stun.BindingRequest, stun.TransactionID, Priority(0x6e0001ff), ICEControlled(0x932ff9b151263b36))
			}
		}},
		{"AddTo called directly", func(b *testing.B) {
			m := new(stun.Message)
			for b.Loop() {
				m.Reset()
				m.Type = stun.BindingRequest
				m.WriteHeader()
				_ = Priority(0x6e0001ff).AddTo(m)
				_ = ICEControlled(0x932ff9b151263b36).AddTo(m)
			}
		}},
		{"MessageIntegrity.AddTo", func(b *testing.B) {
			m := new(stun.Message)
			for b.Loop() {
				m.Reset()
				m.WriteHeader()
				_ = stun.MessageIntegrity(key).AddTo(m)
			}
		}},
		{"MessageIntegrity.Check exact capacity", func(b *testing.B) {
			// The HMAC is appended after len(m.Raw): no room, so it
			// allocates.
			raw := append([]byte(nil), rfc5769Request...)
			m := &stun.Message{Raw: raw[:len(raw):len(raw)]}
			_ = m.Decode()
			for b.Loop() {
				if err := stun.MessageIntegrity(key).Check(m); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"MessageIntegrity.Check spare capacity", func(b *testing.B) {
			m := &stun.Message{Raw: make([]byte, 0, 512)}
			_ = stun.Decode(rfc5769Request, m)
			for b.Loop() {
				if err := stun.MessageIntegrity(key).Check(m); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"Fingerprint.AddTo", func(b *testing.B) {
			m := &stun.Message{Raw: make([]byte, 0, 512)}
			for b.Loop() {
				m.Reset()
				m.WriteHeader()
				_ = stun.Fingerprint.AddTo(m)
			}
		}},
		{"Fingerprint.Check", func(b *testing.B) {
			m := new(stun.Message)
			_ = stun.Decode(rfc5769Request, m)
			for b.Loop() {
				_ = stun.Fingerprint.Check(m)
			}
		}},
		{"XORMappedAddress.AddTo", func(b *testing.B) {
			m := &stun.Message{Raw: make([]byte, 0, 512)}
			for b.Loop() {
				m.Reset()
				m.WriteHeader()
				_ = xma.AddTo(m)
			}
		}},
		{"XORMappedAddress.GetFrom", func(b *testing.B) {
			m := new(stun.Message)
			_ = stun.Decode(rfc5769IPv4Response, m)
			var a stun.XORMappedAddress
			for b.Loop() {
				_ = a.GetFrom(m)
			}
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			tt.f(b)
		})
	}
}
