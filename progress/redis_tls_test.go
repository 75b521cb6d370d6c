package progress

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// tlsListener accepts TLS connections with a self-signed certificate for
// the DNS name or IP given, and adds the certificate to roots.
func tlsListener(t *testing.T, roots *x509.CertPool, dnsName string, ip net.IP) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "upgradebot test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if dnsName != "" {
		tmpl.DNSNames = []string{dnsName}
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// A rediss:// Sentinel or Cluster URL names several hosts, and the client
// finds more (the master, the other nodes): each connection checks the
// certificate against the host it dials, not against the URL's first host.
func TestRedisTLSVerifiesEachHost(t *testing.T) {
	roots := x509.NewCertPool()
	_, first, _ := net.SplitHostPort(tlsListener(t, roots, "localhost", nil))
	second := tlsListener(t, roots, "", net.IPv4(127, 0, 0, 1)) // valid for 127.0.0.1 only
	for _, tc := range []struct{ kind, url, cluster string }{
		{"sentinel", "rediss://localhost:" + first + "?master_name=m&addr=" + second, ""},
		{"cluster", "", "rediss://localhost:" + first + "?addr=" + second},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			s, kind, err := OpenRedis(tc.url, tc.cluster, RedisOptions{})
			if err != nil || kind != tc.kind {
				t.Fatalf("OpenRedis = %q, %v; want a %s", kind, err, tc.kind)
			}
			defer s.Close()
			var conf *tls.Config
			switch c := s.client.(type) {
			case *redis.Client:
				conf = c.Options().TLSConfig
			case *redis.ClusterClient:
				conf = c.Options().TLSConfig
			}
			if conf == nil {
				t.Fatal("no TLS config for a rediss:// URL")
			}
			if conf.ServerName != "" {
				t.Errorf("TLS server name %q for every host; want none (the host dialed)", conf.ServerName)
			}
			// go-redis's own dialer, with the store's TLS settings (and the test's roots).
			conf = conf.Clone()
			conf.RootCAs = roots
			dial := redis.NewDialer(&redis.Options{TLSConfig: conf, DialTimeout: 5 * time.Second})
			for _, addr := range []string{"localhost:" + first, second} {
				c, err := dial(context.Background(), "tcp", addr)
				if err != nil {
					t.Errorf("TLS to %s: %v", addr, err)
					continue
				}
				c.Close()
			}
		})
	}
}
