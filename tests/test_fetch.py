import hashlib
import http.server
import json
import os
import threading

import pytest

from helpers.data import fetch as F
from helpers.data import harry_potter as HP

pytestmark = pytest.mark.filterwarnings("ignore:downloading .* over plain HTTP")

CONTENT = b"fMRI bytes " * 5000


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; ``/truncated`` promises more bytes than it sends."""

    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(2 * len(body) if self.path == "/truncated" else len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files = {"/data.bin": CONTENT, "/truncated": CONTENT}
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_downloads_records_the_checksum_then_skips(server, tmp_path):
    dest = tmp_path / "data" / "data.bin"
    assert F.download(server.url + "/data.bin", dest, progress=False) == dest
    assert dest.read_bytes() == CONTENT
    assert json.loads((tmp_path / "data" / F.CHECKSUMS).read_text()) == {"data.bin": sha(CONTENT)}
    F.download(server.url + "/data.bin", dest, progress=False)
    assert server.requests == ["/data.bin"]  # the second call only verified the file on disk
    assert sorted(p.name for p in dest.parent.iterdir()) == [F.CHECKSUMS, "data.bin"]


def test_a_file_that_changed_on_disk_is_refused(server, tmp_path):
    dest = F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    dest.write_bytes(b"something else")
    with pytest.raises(F.ChecksumError, match=f"data.bin does not have the expected content: SHA-256 {sha(b'something else')}, "
                       f"expected {sha(CONTENT)}. Delete the file to download it again"):
        F.download(server.url + "/data.bin", dest, progress=False)


def test_a_server_file_that_changed_is_refused_and_not_kept(server, tmp_path):
    dest = F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    dest.unlink()
    server.files["/data.bin"] = b"new release"
    with pytest.raises(F.ChecksumError, match=f"SHA-256 {sha(b'new release')}, expected {sha(CONTENT)}.*nothing was kept"):
        F.download(server.url + "/data.bin", dest, progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / F.CHECKSUMS]


def test_a_known_checksum_is_checked_on_first_download(server, tmp_path):
    with pytest.raises(F.ChecksumError, match=f"expected {'0' * 64}"):
        F.download(server.url + "/data.bin", tmp_path / "data.bin", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []
    F.download(server.url + "/data.bin", tmp_path / "data.bin", sha256=sha(CONTENT).upper(), progress=False)
    assert (tmp_path / "data.bin").read_bytes() == CONTENT


def test_a_file_put_there_by_hand_is_trusted_and_recorded(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"by hand")
    F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    assert server.requests == []
    assert json.loads((tmp_path / F.CHECKSUMS).read_text()) == {"data.bin": sha(b"by hand")}


@pytest.mark.parametrize(
    "path, message",
    [
        ("/missing.bin", "could not download http://127.0.0.1:[0-9]+/missing.bin: HTTP Error 404"),
        ("/truncated", "downloading http://127.0.0.1:[0-9]+/truncated stopped after 55000 of 110000 bytes"),
    ],
)
def test_a_failed_download_leaves_no_file_and_says_where_to_put_it(server, tmp_path, path, message):
    dest = tmp_path / "data.bin"
    with pytest.raises(F.DownloadError, match=f"{message}.*download the file by hand and save it as {dest}"):
        F.download(server.url + path, dest, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_server(server, tmp_path):
    url = server.url + "/data.bin"
    server.shutdown()
    server.server_close()
    with pytest.raises(F.DownloadError, match="could not download http://127.0.0.1.*save it as"):
        F.download(url, tmp_path / "data.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_data_directory_that_cannot_be_created(server, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot create the data directory .*file/data.*pass another data_dir"):
        F.download(server.url + "/data.bin", tmp_path / "file" / "data" / "data.bin", progress=False)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="file permissions do not bind root")
def test_a_data_directory_without_write_permission(server, tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=f"cannot write to the data directory {tmp_path}; pass another data_dir"):
            F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    finally:
        tmp_path.chmod(0o700)


def test_a_data_directory_reported_unwritable(server, tmp_path, monkeypatch):
    # the same check as above, where chmod binds nobody (as root)
    monkeypatch.setattr(F.os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match=f"cannot write to the data directory {tmp_path}; pass another data_dir"):
        F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    assert server.requests == []


def test_plain_http_gets_a_warning_and_other_schemes_are_refused(server, tmp_path):
    with pytest.warns(UserWarning, match="over plain HTTP"):
        F.download(server.url + "/data.bin", tmp_path / "data.bin", progress=False)
    with pytest.raises(ValueError, match="url must start with https://"):
        F.download("ftp://example.org/x", tmp_path / "x.bin", progress=False)


def test_harry_potter_fetch_downloads_each_subject_once(server, tmp_path, monkeypatch):
    server.files.update({"/subject_1.mat": b"one", "/subject_2.mat": b"two"})
    monkeypatch.setattr(HP, "URL", server.url + "/subject_{n}.mat")
    paths = HP.fetch(tmp_path, subjects=[1, 2], progress=False)
    assert [p.read_bytes() for p in paths] == [b"one", b"two"]
    HP.fetch(tmp_path, subjects=[1, 2], progress=False)
    assert server.requests == ["/subject_1.mat", "/subject_2.mat"]
    with pytest.raises(ValueError, match="subjects must be among \\(1, 2, 3, 4, 5, 6, 7, 8\\), got \\[9\\]"):
        HP.fetch(tmp_path, subjects=[9])
