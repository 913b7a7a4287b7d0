package org.lethe.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The local file system under scheme {@code faulty:} ({@code faulty:///x} is {@code /x}), which
 * counts its mutating operations and, once {@link #arm armed} at operation n, fails that one and
 * every later one with an IOException: a writer that died there, for tests of commit protocols.
 *
 * <p>Registered for scheme {@code faulty} through META-INF/services (so any test Configuration
 * resolves it) and, for FileContext users such as Delta's log stores, {@code
 * fs.AbstractFileSystem.faulty.impl = org.lethe.testing.FaultyFileSystem$Fs} (see {@link #configure}).
 * The counter and arming are static (Hadoop caches FileSystem instances per scheme and user) and
 * thread-safe. Only the outermost call counts: a create that makes its parent directories is one
 * operation. Reads never count and never fail.
 *
 * <p>It extends the raw local file system rather than wrapping one in a FilterFileSystem: the raw
 * file system resolves every path of its own URI's scheme, where a filter would hand {@code
 * faulty:} paths to a {@code file:} file system that refuses them (and would have to rewrite every
 * path in and out). No checksum files are written, as on HDFS or an object store.
 */
public class FaultyFileSystem extends RawLocalFileSystem {

    /** The scheme. */
    public static final String SCHEME = "faulty";

    private static final URI ROOT = URI.create(SCHEME + ":///");
    private static final AtomicLong OPERATIONS = new AtomicLong();
    private static volatile long armedAt;
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    /** An IO error this file system injected. */
    public static final class InjectedFault extends IOException {
        private static final long serialVersionUID = 1L;

        InjectedFault(String message) {
            super(message);
        }
    }

    /** Sets the FileContext binding (the FileSystem one comes from META-INF/services) and disables caching. */
    public static Configuration configure(Configuration conf) {
        conf.set("fs." + SCHEME + ".impl", FaultyFileSystem.class.getName());
        conf.set("fs.AbstractFileSystem." + SCHEME + ".impl", Fs.class.getName());
        return conf;
    }

    /** {@code local} (an absolute local path) as a {@code faulty:} path. */
    public static Path path(java.nio.file.Path local) {
        try {
            return new Path(new URI(SCHEME, null, local.toAbsolutePath().normalize().toUri().getPath(), null));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(local + ": not a path", e);
        }
    }

    /** Operation {@code n} (1-based, counted from now) and every later one fail. */
    public static void arm(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("operations count from 1, got " + n);
        }
        armedAt = OPERATIONS.get() + n;
    }

    /** Every operation succeeds again. */
    public static void disarm() {
        armedAt = 0;
    }

    /** The mutating operations counted since this JVM loaded the class. */
    public static long operations() {
        return OPERATIONS.get();
    }

    @Override
    public URI getUri() {
        return ROOT;
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public void initialize(URI uri, Configuration conf) throws IOException {
        super.initialize(ROOT, conf);
        setConf(conf);
        local.initialize(URI.create("file:///"), conf);
    }

    // The raw local file system's statuses read permissions lazily through java.io.File, which
    // wants a file: path: statuses come from a file: twin, loaded, then renamed to faulty:.
    private final RawLocalFileSystem local = new RawLocalFileSystem();

    private Path toLocal(Path p) {
        return new Path("file", null, makeQualified(p).toUri().getPath());
    }

    private static FileStatus toFaulty(FileStatus status) {
        status.getPermission(); // loads permission, owner and group while the path is still file:
        status.setPath(new Path(SCHEME, null, status.getPath().toUri().getPath()));
        return status;
    }

    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        return toFaulty(local.getFileStatus(toLocal(f)));
    }

    @Override
    public FileStatus getFileLinkStatus(Path f) throws IOException {
        return toFaulty(local.getFileLinkStatus(toLocal(f)));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        FileStatus[] statuses = local.listStatus(toLocal(f));
        for (FileStatus s : statuses) {
            toFaulty(s);
        }
        return statuses;
    }

    @FunctionalInterface
    private interface Call<T> {
        T run() throws IOException;
    }

    private static <T> T mutate(String op, Path path, Call<T> call) throws IOException {
        int[] depth = DEPTH.get();
        if (depth[0] == 0) {
            long n = OPERATIONS.incrementAndGet();
            long armed = armedAt;
            if (armed > 0 && n >= armed) {
                throw new InjectedFault("injected fault at operation " + n + ": " + op + " " + path);
            }
        }
        depth[0]++;
        try {
            return call.run();
        } finally {
            depth[0]--;
        }
    }

    @Override
    public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
            Progressable progress) throws IOException {
        return mutate("create", f, () -> super.create(f, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
            short replication, long blockSize, Progressable progress) throws IOException {
        return mutate("create", f,
                () -> super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream createNonRecursive(Path f, FsPermission permission, EnumSet<CreateFlag> flags,
            int bufferSize, short replication, long blockSize, Progressable progress) throws IOException {
        return mutate("createNonRecursive", f,
                () -> super.createNonRecursive(f, permission, flags, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream createNonRecursive(Path f, FsPermission permission, boolean overwrite, int bufferSize,
            short replication, long blockSize, Progressable progress) throws IOException {
        return mutate("createNonRecursive", f,
                () -> super.createNonRecursive(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    protected FSDataOutputStream primitiveCreate(Path f, FsPermission permission, EnumSet<CreateFlag> flags,
            int bufferSize, short replication, long blockSize, Progressable progress, Options.ChecksumOpt checksum)
            throws IOException {
        return mutate("create", f,
                () -> super.primitiveCreate(f, permission, flags, bufferSize, replication, blockSize, progress, checksum));
    }

    @Override
    public FSDataOutputStream append(Path f, int bufferSize, Progressable progress) throws IOException {
        return mutate("append", f, () -> super.append(f, bufferSize, progress));
    }

    @Override
    public boolean rename(Path src, Path dst) throws IOException {
        return mutate("rename", src, () -> super.rename(src, dst));
    }

    @Override
    public boolean delete(Path p, boolean recursive) throws IOException {
        return mutate("delete", p, () -> super.delete(p, recursive));
    }

    @Override
    public boolean mkdirs(Path f) throws IOException {
        return mutate("mkdirs", f, () -> super.mkdirs(f));
    }

    @Override
    public boolean mkdirs(Path f, FsPermission permission) throws IOException {
        return mutate("mkdirs", f, () -> super.mkdirs(f, permission));
    }

    @Override
    protected boolean primitiveMkdir(Path f, FsPermission permission) throws IOException {
        return mutate("mkdirs", f, () -> super.primitiveMkdir(f, permission));
    }

    @Override
    public boolean truncate(Path f, long newLength) throws IOException {
        return mutate("truncate", f, () -> super.truncate(f, newLength));
    }

    @Override
    public void concat(Path trg, Path[] srcs) throws IOException {
        mutate("concat", trg, () -> {
            super.concat(trg, srcs);
            return null;
        });
    }

    @Override
    public void setTimes(Path p, long mtime, long atime) throws IOException {
        mutate("setTimes", p, () -> {
            super.setTimes(p, mtime, atime);
            return null;
        });
    }

    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
        mutate("setPermission", p, () -> {
            super.setPermission(p, permission);
            return null;
        });
    }

    @Override
    public void setOwner(Path p, String user, String group) throws IOException {
        mutate("setOwner", p, () -> {
            super.setOwner(p, user, group);
            return null;
        });
    }

    @Override
    public void createSymlink(Path target, Path link, boolean createParent) throws IOException {
        mutate("createSymlink", link, () -> {
            super.createSymlink(target, link, createParent);
            return null;
        });
    }

    /** The FileContext ({@code AbstractFileSystem}) binding of scheme {@code faulty}. */
    public static final class Fs extends DelegateToFileSystem {
        public Fs(URI uri, Configuration conf) throws IOException, URISyntaxException {
            super(uri, new FaultyFileSystem(), conf, SCHEME, false);
        }
    }
}
