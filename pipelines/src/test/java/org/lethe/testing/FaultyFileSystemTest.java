package org.lethe.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fault-injecting file system: what it counts, where it fails, and its FileContext binding. */
class FaultyFileSystemTest {

    @Test
    void mutatingOperationsAreCountedOnceAndFailFromTheArmedOne(@TempDir Path tmp) throws Exception {
        FileSystem fs = FaultyFileSystem.path(tmp).getFileSystem(new Configuration());
        assertEquals("faulty", fs.getScheme());
        org.apache.hadoop.fs.Path file = FaultyFileSystem.path(tmp.resolve("a/b/c.txt"));
        long before = FaultyFileSystem.operations();
        try (FSDataOutputStream out = fs.create(file)) { // makes a/ and a/b/ too: one operation
            out.write("x".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(before + 1, FaultyFileSystem.operations());
        assertTrue(fs.exists(file) && fs.getFileStatus(file).getLen() == 1); // reads do not count
        assertEquals(1, fs.listStatus(FaultyFileSystem.path(tmp.resolve("a/b"))).length);
        assertEquals(before + 1, FaultyFileSystem.operations());

        FaultyFileSystem.arm(2);
        try {
            org.apache.hadoop.fs.Path renamed = FaultyFileSystem.path(tmp.resolve("a/b/d.txt"));
            assertTrue(fs.rename(file, renamed)); // operation 1 after arming: succeeds
            FaultyFileSystem.InjectedFault fault = assertThrows(FaultyFileSystem.InjectedFault.class,
                    () -> fs.delete(renamed, false));
            assertEquals("injected fault at operation " + (before + 3) + ": delete " + renamed, fault.getMessage());
            assertThrows(FaultyFileSystem.InjectedFault.class, () -> fs.mkdirs(FaultyFileSystem.path(tmp.resolve("z"))));
            assertTrue(Files.exists(tmp.resolve("a/b/d.txt")), "a failed operation changes nothing");
            assertFalse(Files.exists(tmp.resolve("z")));
        } finally {
            FaultyFileSystem.disarm();
        }
        assertTrue(fs.delete(FaultyFileSystem.path(tmp.resolve("a")), true));
        assertFalse(Files.exists(tmp.resolve("a")));
    }

    @Test
    void fileContextUsersGoThroughTheSameCounter(@TempDir Path tmp) throws Exception {
        Configuration conf = FaultyFileSystem.configure(new Configuration());
        FileContext fc = FileContext.getFileContext(FaultyFileSystem.path(tmp).toUri(), conf);
        org.apache.hadoop.fs.Path file = FaultyFileSystem.path(tmp.resolve("log/00001.json"));
        long before = FaultyFileSystem.operations();
        try (FSDataOutputStream out = fc.create(file, EnumSet.of(CreateFlag.CREATE), Options.CreateOpts.createParent())) {
            out.write('{');
        }
        assertTrue(FaultyFileSystem.operations() > before);
        assertEquals("{", Files.readString(tmp.resolve("log/00001.json")));
        FaultyFileSystem.arm(1);
        try {
            assertThrows(FaultyFileSystem.InjectedFault.class, () -> fc.rename(file,
                    FaultyFileSystem.path(tmp.resolve("log/00002.json"))));
        } finally {
            FaultyFileSystem.disarm();
        }
        assertTrue(Files.exists(tmp.resolve("log/00001.json")));
    }
}
