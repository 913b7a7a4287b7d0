package org.lethe.store;

import io.delta.storage.LocalLogStore;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Delta's log store for {@code file:} roots, safe across processes: a new commit file is created
 * only while holding an OS file lock on its log directory, so two applications committing version
 * N of one table cannot both succeed (Delta's own local log store locks within one JVM only, and a
 * local rename replaces its target). The OS releases the lock when its holder dies, so a writer
 * killed mid-commit blocks no later one. Configured by {@code spark.delta.logStore.file.impl}
 * ({@link DeltaSession}).
 */
public final class LockingLocalLogStore extends LocalLogStore {

    private static final String LOCK_FILE = ".lethe-commit.lock";
    /** One lock per log directory within this JVM: the OS lock is per process. */
    private static final ConcurrentHashMap<String, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    public LockingLocalLogStore(Configuration conf) {
        super(conf);
    }

    @Override
    public void write(Path path, Iterator<String> actions, Boolean overwrite, Configuration conf) throws IOException {
        if (overwrite) {
            super.write(path, actions, true, conf);
            return;
        }
        File logDir = new File(path.getParent().toUri().getPath());
        if (!logDir.isDirectory() && !logDir.mkdirs() && !logDir.isDirectory()) {
            throw new IOException("cannot create the Delta log directory " + logDir);
        }
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(logDir.getAbsolutePath(), k -> new ReentrantLock());
        jvmLock.lock();
        try (FileChannel channel = FileChannel.open(new File(logDir, LOCK_FILE).toPath(), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
            // Under the lock the existence check and the rename are one step for every Lethe writer.
            super.write(path, actions, false, conf);
        } finally {
            jvmLock.unlock();
        }
    }
}
