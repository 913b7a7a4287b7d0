package org.lethe.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.FaultyFileSystem;

/** Local locations are used where they are; others come from the node cache; file checks read in place. */
class LocalModelsTest {

    @Test
    void localLocationsAreReturnedUnchangedWithoutACopy() {
        assertEquals(Paths.get("/data/models/llama"), LocalModels.path("/data/models/llama"));
        assertEquals(Paths.get("relative/model"), LocalModels.path("relative/model"));
        assertEquals(Paths.get("/data/models/llama"), LocalModels.path("file:///data/models/llama"));
        assertEquals(Paths.get("/data/models/llama"), LocalModels.path("file:/data/models/llama"));
        assertTrue(Locations.isLocal("/x") && Locations.isLocal("file:/x"));
        assertFalse(Locations.isLocal("s3a://bucket/x") || Locations.isLocal("hdfs://nn:8020/x"));
        // Never resolved against fs.defaultFS (HDFS on a cluster).
        assertEquals("file:" + Paths.get("rel").toAbsolutePath(), Locations.hadoopPath("rel").toString());
        assertEquals("s3a://bucket/runs/checkpoint-2", Locations.resolve("s3a://bucket/runs", "checkpoint-2"));
        assertEquals(Paths.get("/runs/checkpoint-2").toString(), Locations.resolve("/runs", "checkpoint-2"));
    }

    @Test
    void remoteLocationsAreReadThroughTheCacheOfTheGivenSettings(@TempDir Path tmp) throws Exception {
        Path staging = tmp.resolve("staging");
        Files.createDirectories(staging);
        Files.writeString(staging.resolve("config.json"), "{\"a\": 1}");
        Path remote = tmp.resolve("remote");
        CommittedDirectory.commit(staging, FaultyFileSystem.path(remote), new Configuration());
        String location = FaultyFileSystem.path(remote).toString();

        assertTrue(LocalModels.hasFile(location, "config.json"));
        assertFalse(LocalModels.hasFile(location, "tokenizer.json"));
        assertFalse(LocalModels.hasFile(FaultyFileSystem.path(tmp.resolve("absent")).toString(), "config.json"));
        assertArrayEquals("{\"a\": 1}".getBytes(), LocalModels.readFile(location, "config.json").orElseThrow());
        assertEquals(Optional.empty(), LocalModels.readFile(location, "absent.json"));

        ModelCacheSettings settings = new ModelCacheSettings(tmp.resolve("cache").toString(), 1 << 20, 60);
        Path copy = LocalModels.load(location, settings, dir -> dir);
        assertEquals(tmp.resolve("cache"), copy.getParent());
        assertEquals("{\"a\": 1}", Files.readString(copy.resolve("config.json")));
        // A local location is the loader's argument as it is, whatever the settings.
        assertEquals(remote, LocalModels.load(remote.toString(), settings, dir -> dir));
    }
}
