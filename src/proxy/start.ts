/** Creates and starts a gateway. */
import { Gateway, type GatewayOptions } from './gateway.ts';

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const gateway = new Gateway(options);
  try {
    await gateway.start();
  } catch (error) {
    await gateway.stop().catch(() => undefined);
    throw error;
  }
  return gateway;
}
