"""Run ON an external etcd member (python3 only): its own version and health, as JSON.

Each member answers for itself over its loopback client URL with its own certificate,
so a dead member costs only its own answer, never the others'. Arguments: the member's
PKI folder, client port and data folder. Prints one line:
{"data": bool, "version": {...} | null, "health": {...} | null, "error": str}.
"""

import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def main() -> None:
    pki, port, data = sys.argv[1], sys.argv[2], sys.argv[3]
    out: dict[str, object] = {"data": os.path.isdir(os.path.join(data, "member"))}
    out.update(version=None, health=None)
    try:
        context = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        # The member's certificate names its address, not 127.0.0.1; the CA still decides.
        context.check_hostname = False
        context.load_cert_chain(
            os.path.join(pki, "etcd-member.crt"), os.path.join(pki, "etcd-member.key")
        )
    except (OSError, ssl.SSLError) as error:
        out["error"] = f"no usable member certificate in {pki} ({error})"
        print(json.dumps(out))
        return
    for path in ("version", "health"):
        url = f"https://127.0.0.1:{port}/{path}"
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as answer:
                out[path] = json.load(answer)
        except urllib.error.HTTPError as error:
            # An unhealthy member answers /health with 503 and {"health": "false"}.
            try:
                out[path] = json.load(error)
            except ValueError:
                out.setdefault("error", f"{url}: {error}")
        except Exception as error:  # any other failure is this member's answer too
            out.setdefault("error", f"{url}: {error}")
    print(json.dumps(out))


main()
