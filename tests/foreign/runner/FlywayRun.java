// Runs Flyway's own migrate on a directory, for the switching tests
// (tests/foreign_test.py): the Flyway command-line package is not needed.
//
//   java -cp JARS:CLASSES FlywayRun JDBC_URL USER DIR [TARGET_VERSION]
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;

public final class FlywayRun {
    private FlywayRun() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: FlywayRun JDBC_URL USER DIR [TARGET_VERSION]");
            System.exit(2);
        }
        FluentConfiguration conf = Flyway.configure()
                .dataSource(args[0], args[1], "")
                .locations("filesystem:" + args[2])
                .cleanDisabled(true);
        if (args.length > 3) {
            conf = conf.target(args[3]);
        }
        // A transactional lock would hold a transaction open that a
        // CREATE INDEX CONCURRENTLY waits for, forever.
        conf.getPluginRegister().getPlugin(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
        int applied = conf.load().migrate().migrationsExecuted;
        System.out.println("flyway: " + applied + " migrations applied");
    }
}
