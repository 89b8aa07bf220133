//! How client commands reach the server: URL, PIN or token, exit codes.

use super::{CliError, Exit, GlobalArgs};
use spotlight_client::{Client, ClientError};

/// A client for `--url`, signed in with `--token`, or with `--pin`
/// exchanged for a token once.
pub async fn client(global: &GlobalArgs) -> anyhow::Result<Client> {
    let mut client = Client::new(&global.url).with_token(global.token.clone());
    if let (None, Some(pin)) = (&global.token, &global.pin) {
        client.login(pin).await.map_err(failure)?;
    }
    Ok(client)
}

/// Turns a client error into a one-line error with its exit code:
/// 3 when the server cannot be reached, 1 when it answered with an error.
pub fn failure(e: ClientError) -> anyhow::Error {
    let exit = match e {
        ClientError::Unreachable { .. } => Exit::Unreachable,
        ClientError::Api { .. } | ClientError::Protocol { .. } => Exit::Failed,
    };
    let message = e.summary();
    CliError { exit, message }.into()
}

/// The session token for `--token`, or `--pin` exchanged for one; `None`
/// on an open server.
pub async fn token(global: &GlobalArgs) -> anyhow::Result<Option<String>> {
    if global.token.is_some() {
        return Ok(global.token.clone());
    }
    match &global.pin {
        Some(pin) => {
            let mut client = Client::new(&global.url);
            let res = client.login(pin).await.map_err(failure)?;
            Ok(Some(res.token))
        }
        None => Ok(None),
    }
}
