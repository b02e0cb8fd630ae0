/**
 * Dependency round trips, counted on the MariaDB side: Questions (statements) plus
 * Com_admin_commands (a ping is not in Questions), read with SHOW GLOBAL STATUS on one
 * dedicated connection. Each read is itself one statement: callers subtract it.
 */
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';

export interface DbCounter {
  /** Questions + Com_admin_commands now (the read itself included). */
  read(): Promise<number>;
  version(): Promise<string>;
  close(): Promise<void>;
}

/** Statements one read() adds to the counters (the SHOW itself). */
export const READ_OVERHEAD = 1;

export async function dbCounter(url: string): Promise<DbCounter> {
  const connection: Connection = await createConnection({ uri: url });
  connection.on('error', () => undefined);
  return {
    async read() {
      const [rows] = await connection.query<RowDataPacket[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_admin_commands')",
      );
      let total = 0;
      for (const row of rows) total += Number((row as { Value?: unknown }).Value);
      if (rows.length !== 2 || !Number.isFinite(total))
        throw new Error(`unexpected SHOW GLOBAL STATUS rows: ${JSON.stringify(rows)}`);
      return total;
    },
    async version() {
      const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS v');
      const value = (rows[0] as { v?: unknown } | undefined)?.v;
      return typeof value === 'string' ? value : 'unknown';
    },
    async close() {
      await connection.end().catch(() => connection.destroy());
    },
  };
}
