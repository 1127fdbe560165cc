package org.mlentory.neo4jrunner;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Starts an embedded Neo4j Community DBMS with Bolt on 127.0.0.1 and parks until SIGTERM.
 *
 * <p>Usage: {@code Neo4jRunner HOME_DIR [PORT]}. PORT defaults to env NEO4J_BOLT_PORT, then 7687.
 * Auth is disabled unless env NEO4J_RUNNER_PASSWORD is set (user {@code neo4j}).
 */
public final class Neo4jRunner {
    public static final String READY_MARKER = "NEO4J_RUNNER_READY";

    private Neo4jRunner() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            // Exit instead of lingering on Neo4j's non-daemon threads; the shutdown hook (if
            // registered) still closes the DBMS.
            System.err.println("NEO4J_RUNNER_FAILED " + t);
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Neo4jRunner HOME_DIR [PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String portText = args.length > 1 ? args[1] : System.getenv().getOrDefault("NEO4J_BOLT_PORT", "7687");
        int port = Integer.parseInt(portText.trim());
        String password = System.getenv("NEO4J_RUNNER_PASSWORD");
        boolean auth = password != null && !password.isEmpty();
        // Page cache: large enough that a benchmark-sized graph (~1M nodes) stays in memory.
        long pageCacheMb = Long.parseLong(
                System.getenv().getOrDefault("NEO4J_RUNNER_PAGECACHE_MB", "512").trim());

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.auth_minimum_password_length, 1)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                // The upserts are the same few dozen statements, all seeking one unique index:
                // their plans never change, so don't re-plan them as the graph grows (it cost
                // ~18% of the server's CPU during bulk loads).
                .setConfig(GraphDatabaseSettings.cypher_min_replan_interval, Duration.ofHours(1))
                .setConfig(GraphDatabaseSettings.query_statistics_divergence_threshold, 1.0)
                // never phone home (usage data collector): this machine only talks to loopback
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // a throwaway dev/test server: don't wait 2 x 5 s for idle Bolt connections on stop
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("NEO4J_RUNNER_STOPPING");
            try {
                dbms.shutdown();
            } catch (Throwable t) {
                t.printStackTrace();
            } finally {
                System.out.println("NEO4J_RUNNER_STOPPED");
                System.out.flush();
                stopped.countDown();
            }
        }, "neo4j-runner-shutdown"));

        if (auth) {
            GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED",
                    Map.of("pw", password));
        }

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        long one = db.executeTransactionally("RETURN 1 AS one", Map.of(),
                result -> ((Number) result.next().get("one")).longValue());
        if (one != 1L) {
            throw new IllegalStateException("RETURN 1 returned " + one);
        }

        System.out.println(READY_MARKER + " bolt://127.0.0.1:" + port + " auth=" + (auth ? "on" : "off")
                + " home=" + home);
        System.out.flush();

        stopped.await();
    }
}
