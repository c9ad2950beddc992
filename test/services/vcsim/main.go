// A vCenter simulator for the vmware driver's tests, on govmomi's simulator
// library as Debian packages it (Debian ships the library, not its vcsim
// program). It serves a VPX model: one datacenter (DC0), one standalone host,
// the datastores asked for (LocalDS_0, LocalDS_1, ...; directories of their
// own that outlive a restart with -datastore-root), over TLS with the
// certificate given (govmomi's built-in one is 1024-bit RSA, which OpenSSL 3
// refuses), with one user and password. Flags can make a datastore report a
// chosen free space or be inaccessible, so that the driver's datastore choice
// can be tested. With -wsdl it also serves a vim WSDL at /sdk/vimService.wsdl
// (vCenter serves one there, vcsim does not), which Python's oslo.vmware
// fetches before its first call.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

// assignments reads `name=value,name=value`.
func assignments(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if pair == "" {
			continue
		}
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 {
			return nil, fmt.Errorf("%q is not name=value", pair)
		}
		out[kv[0]] = kv[1]
	}
	return out, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8989", "address to listen on")
	user := flag.String("username", "user", "the one user name")
	pass := flag.String("password", "pass", "its password")
	certFile := flag.String("cert", "", "PEM certificate served (required)")
	keyFile := flag.String("key", "", "PEM key of the certificate (required)")
	datastores := flag.Int("datastores", 2, "number of datastores in the datacenter")
	free := flag.String("free-space", "", "datastore=bytes,...: the free space a datastore reports")
	inaccessible := flag.String("inaccessible", "", "datastore,...: datastores reported not accessible")
	wsdl := flag.String("wsdl", "", "a vim WSDL file served at /sdk/vimService.wsdl")
	root := flag.String("datastore-root", "", "directory holding each datastore as <root>/<name>, kept across restarts (default: temporary directories removed on exit)")
	flag.Parse()
	if *certFile == "" || *keyFile == "" {
		log.Fatal("-cert and -key are required")
	}
	freeSpace, err := assignments(*free)
	if err != nil {
		log.Fatalf("-free-space: %s", err)
	}
	closed := map[string]bool{}
	for _, name := range strings.Split(*inaccessible, ",") {
		if name != "" {
			closed[name] = true
		}
	}

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 0
	model.Host = 1
	model.Machine = 0
	model.Autostart = false
	model.Datastore = *datastores
	if err := model.Create(); err != nil {
		log.Fatalf("creating the model: %s", err)
	}
	defer model.Remove()

	seen := map[string]bool{}
	for _, entity := range simulator.Map.All("Datastore") {
		ds := entity.(*simulator.Datastore)
		seen[ds.Name] = true
		if *root != "" {
			dir := filepath.Join(*root, ds.Name)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				log.Fatalf("datastore %s: %s", ds.Name, err)
			}
			ds.Info.GetDatastoreInfo().Url = dir
			ds.Summary.Url = dir
		}
		if v, ok := freeSpace[ds.Name]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				log.Fatalf("-free-space %s=%s: %s", ds.Name, v, err)
			}
			ds.Summary.FreeSpace = n
			ds.Info.GetDatastoreInfo().FreeSpace = n
		}
		if closed[ds.Name] {
			ds.Summary.Accessible = false
		}
	}
	for name := range freeSpace {
		if !seen[name] {
			log.Fatalf("-free-space: no datastore %s", name)
		}
	}
	for name := range closed {
		if !seen[name] {
			log.Fatalf("-inaccessible: no datastore %s", name)
		}
	}

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("loading the certificate: %s", err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	if *wsdl != "" {
		if _, err := os.Stat(*wsdl); err != nil {
			log.Fatalf("-wsdl: %s", err)
		}
		model.Service.HandleFunc("/sdk/vimService.wsdl", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			http.ServeFile(w, r, *wsdl)
		})
	}
	server := model.Service.NewServer()
	defer server.Close()
	for _, entity := range simulator.Map.All("Datastore") {
		ds := entity.(*simulator.Datastore)
		fmt.Printf("datastore %s %s free=%d accessible=%t\n", ds.Name, ds.Info.GetDatastoreInfo().Url, ds.Summary.FreeSpace, ds.Summary.Accessible)
	}
	// The URL without its credentials: the password is only in the env file.
	fmt.Printf("listening on https://%s/sdk\n", server.URL.Host)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
