// SPDX-License-Identifier: MIT

package nice

// TURN over TCP and TLS (RFC 5766 §2.1): each allocation has its own
// connection, dialled from the host socket's address off the loop. STUN
// messages and ChannelData are framed on the byte stream by their own
// length fields, ChannelData padded to 4 bytes (RFC 5766 §11.5).

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
)

// turnStreamQueueLen bounds what waits for a connection's writer; beyond it
// packets are dropped, as by a full socket buffer.
const turnStreamQueueLen = 256

// turnStream is the connection of a TCP or TLS allocation. Writes go
// through its writer goroutine, so that neither the loop nor Send blocks
// on a full TCP window.
type turnStream struct {
	conn net.Conn
	q    chan *packet
	stop chan struct{}
	once sync.Once
}

// dial connects to the server (and does the TLS handshake), then hands the
// connection to the loop. It runs on its own goroutine.
func (ra *relayAlloc) dial(w *worker, ctx context.Context) {
	a := ra.a
	defer w.exit()
	conn, err := ra.connect(ctx)
	if e := a.do(func(now time.Time) error {
		ra.onDialed(now, conn, err)
		return nil
	}); e != nil && conn != nil {
		_ = conn.Close() // the agent closed before the loop took it
	}
}

// connect dials the server and, for TLS, does the handshake.
func (ra *relayAlloc) connect(ctx context.Context) (net.Conn, error) {
	a := ra.a
	d, ok := a.net.(TCPDialer)
	if !ok {
		return nil, errors.New("Config.Net cannot open TCP connections (it is no nice.TCPDialer)")
	}
	laddr := ra.host.local.Addr()
	if ra.host.mux != nil {
		laddr = netip.Addr{} // a mux's address may be one this host does not have (Address): any
	}
	conn, err := d.DialTCP(ctx, laddr, ra.srv.addr)
	if err != nil {
		return nil, err
	}
	if ra.srv.typ == RelayTypeTURNTLS {
		tc := tls.Client(conn, a.tlsConfig(ra.srv))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	return conn, nil
}

// onDialed starts the allocation on a new connection, or records why there
// is none. Called on the loop.
func (ra *relayAlloc) onDialed(now time.Time, conn net.Conn, err error) {
	a := ra.a
	if !ra.pending || ra.ended {
		if conn != nil {
			_ = conn.Close() // given up meanwhile
		}
		return
	}
	if err != nil {
		ra.t.cancel()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("%w: %v", ErrRelayTimeout, err)
		}
		ra.allocFailed(err)
		return
	}
	st := &turnStream{conn: conn, q: make(chan *packet, turnStreamQueueLen), stop: make(chan struct{})}
	ra.stream.Store(st)
	go ra.readStream(a.workers.start(), st) // the connection's reader; ends when the connection is closed (releaseRelays)
	go st.writeLoop(a.workers.start())      // the connection's writer; ends when the connection is closed
	ra.t.start(now)
}

// readStream reads the connection and hands each frame to the allocation.
func (ra *relayAlloc) readStream(w *worker, st *turnStream) {
	defer w.exit()
	r := bufio.NewReaderSize(st.conn, 16<<10)
	buf := make([]byte, stunx.HeaderSize+0xFFFF+3)
	for {
		if _, err := io.ReadFull(r, buf[:4]); err != nil {
			st.ended(ra, err)
			return
		}
		n := stunx.StreamFrameLen(buf[:4])
		if n == 0 {
			st.ended(ra, fmt.Errorf("neither STUN nor ChannelData: % x", buf[:4]))
			return
		}
		if _, err := io.ReadFull(r, buf[4:n]); err != nil {
			st.ended(ra, err)
			return
		}
		ra.handleInbound(w, buf[:n])
	}
}

// ended handles the end of the connection, unless the agent closed it: an
// allocation over TCP or TLS lives as long as its connection (RFC 8656
// §3.1: the server deletes it when the connection closes), so a made one
// is lost (turnAlloc.lose: reported, and made again) and one in progress
// fails. Called on the connection's reader.
func (st *turnStream) ended(ra *relayAlloc, err error) {
	select {
	case <-st.stop:
		return
	default:
	}
	a := ra.a
	if a.debugOn(LogTURN) {
		a.log.Debug("turn.connection-ended", "server", ra.srv.addr, "transport", ra.srv.typ, "err", err)
	}
	_ = a.do(func(now time.Time) error {
		if ra.ended || ra.stream.Load() != st {
			return nil
		}
		cause := fmt.Errorf("the connection to the TURN server ended: %v", err)
		switch {
		case ra.t.state == turnAllocated:
			ra.t.lose(now, cause)
		case ra.pending:
			ra.t.cancel()
			ra.allocFailed(cause)
		}
		return nil
	})
}

// send queues pk for the writer, which gives it back to the pool.
func (st *turnStream) send(pk *packet) error {
	select {
	case <-st.stop:
		putPacket(pk)
		return net.ErrClosed
	case st.q <- pk:
	default:
		putPacket(pk)
	}
	return nil
}

// turnFlushTimeout bounds how long a closed connection's writer spends
// writing what was queued before the close (the release's Refresh, when
// TURNReleaseTimeout is negative and nobody waits for its answer).
const turnFlushTimeout = 100 * time.Millisecond

// writeLoop writes what is queued until the connection is closed, then
// flushes what is left and closes the connection, which ends the reader.
func (st *turnStream) writeLoop(w *worker) {
	defer w.exit()
	defer st.conn.Close()
	for {
		select {
		case pk := <-st.q:
			if st.write(pk) != nil {
				<-st.stop
				return
			}
		case <-st.stop:
			_ = st.conn.SetWriteDeadline(time.Now().Add(turnFlushTimeout))
			for {
				select {
				case pk := <-st.q:
					if st.write(pk) != nil {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// write writes pk and gives it back to the pool.
func (st *turnStream) write(pk *packet) error {
	_, err := st.conn.Write(pk.b[:pk.n])
	putPacket(pk)
	return err
}

// close ends the connection: the writer flushes and closes it, then the
// reader ends.
func (st *turnStream) close() {
	st.once.Do(func() { close(st.stop) })
}

// tlsConfig returns the TLS configuration for srv: Config.TURNTLSConfig
// (or the system roots) with the server's host name as ServerName.
func (a *Agent) tlsConfig(srv turnServer) *tls.Config {
	var cfg *tls.Config
	if a.cfg.TURNTLSConfig != nil {
		cfg = a.cfg.TURNTLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(srv.host)
		if err != nil {
			host = srv.host
		}
		cfg.ServerName = host
	}
	return cfg
}
