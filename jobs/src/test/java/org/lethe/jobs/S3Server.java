package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An S3-compatible server (Adobe's S3Mock, its exec jar copied by Maven before the integration
 * tests) as a JVM of its own on 127.0.0.1, holding one bucket, and the {@code s3a} settings that
 * reach it: what a cluster's Hadoop configuration would carry for a real object store.
 */
final class S3Server implements AutoCloseable {

    static final String BUCKET = "lethe";
    private final Process process;
    private final int port;

    S3Server(Path jar, Path dir) throws Exception {
        assertTrue(Files.isRegularFile(jar), jar + " does not exist: run the cluster test through Maven's"
                + " integration-test phase (mvn verify), which copies S3Mock's jar there");
        port = StandaloneCluster.freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(),
                "--server.port=" + StandaloneCluster.freePort(), "--com.adobe.testing.s3mock.httpPort=" + port,
                "--server.address=127.0.0.1", "--com.adobe.testing.s3mock.store.root=" + dir.resolve("store"),
                "--spring.main.banner-mode=off"));
        Files.createDirectories(dir);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("s3mock.log").toFile())
                .start();
        HttpClient http = HttpClient.newHttpClient();
        StandaloneCluster.await(Duration.ofSeconds(90), () -> {
            assertTrue(process.isAlive(), "S3Mock exited: " + StandaloneCluster.log(dir.resolve("s3mock.log")));
            try {
                return http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/")).GET().build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }, "S3Mock on port " + port);
        int created = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + BUCKET))
                .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        assertTrue(created == 200, "creating bucket " + BUCKET + ": HTTP " + created);
    }

    String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** {@code s3a://lethe}, the bucket's root. */
    String uri() {
        return "s3a://" + BUCKET;
    }

    /** The s3a settings of this server, as {@code --conf spark.hadoop.*} arguments. */
    List<String> sparkConf() {
        List<String> out = new ArrayList<>();
        for (String kv : List.of("fs.s3a.endpoint=" + endpoint(), "fs.s3a.path.style.access=true",
                "fs.s3a.connection.ssl.enabled=false", "fs.s3a.access.key=lethe", "fs.s3a.secret.key=lethe",
                "fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "fs.s3a.endpoint.region=us-east-1", "fs.s3a.attempts.maximum=3", "fs.s3a.retry.limit=3",
                // S3Mock does not honour the If-Match ETag conditions s3a's change detection sends on GET and
                // COPY (it answers as if the object had changed); a real S3 does.
                "fs.s3a.change.detection.mode=none")) {
            out.add("--conf");
            out.add("spark.hadoop." + kv);
        }
        return out;
    }

    /** PUTs every file of a local directory under {@code key/} of the bucket. */
    void upload(Path dir, String key) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                int status = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + BUCKET + "/" + key + "/"
                        + f.getFileName())).PUT(HttpRequest.BodyPublishers.ofFile(f)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                assertTrue(status == 200, "PUT " + key + "/" + f.getFileName() + ": HTTP " + status);
            }
        }
    }

    /** The bytes of object {@code key} of the bucket. */
    byte[] download(String key) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(endpoint() + "/"
                + BUCKET + "/" + key)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(r.statusCode() == 200, "GET " + key + ": HTTP " + r.statusCode());
        return r.body();
    }

    @Override
    public void close() {
        process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }
}
