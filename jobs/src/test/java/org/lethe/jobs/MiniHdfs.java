package org.lethe.jobs;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS in the test JVM (Hadoop's shaded minicluster: a NameNode and one DataNode on
 * 127.0.0.1, storage under {@code dir}), reached by other JVMs through {@link #uri()}.
 */
final class MiniHdfs implements AutoCloseable {

    private final MiniDFSCluster cluster;

    MiniHdfs(Path dir) throws IOException {
        Configuration conf = new Configuration();
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.hostname", "127.0.0.1");
        conf.setBoolean("dfs.permissions.enabled", false);
        // One DataNode: files have one replica, and the client must not wait for a replacement node.
        conf.setInt("dfs.replication", 1);
        conf.set("dfs.client.block.write.replace-datanode-on-failure.policy", "NEVER");
        cluster = new MiniDFSCluster.Builder(conf, dir.toFile()).numDataNodes(1).format(true).build();
        cluster.waitActive();
    }

    /** {@code hdfs://127.0.0.1:<port>}, the file system's root. */
    String uri() {
        return "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    }

    @Override
    public void close() {
        cluster.shutdown(true);
    }
}
