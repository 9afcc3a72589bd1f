/* The explorer page of riverchief (app/explorer.py): GraphiQL with a token field.
 *
 * The token goes out as "Authorization: Bearer <token>" with every HTTP request and in the
 * websocket's connection_params, where the service reads it for subscriptions. A Login that
 * returns a token fills the field. The token is kept for this tab only (sessionStorage).
 * Anything set in GraphiQL's headers editor is sent as well, over HTTP and the websocket.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "riverchief:token";
  var config = JSON.parse(document.getElementById("explorer-config").textContent);
  var endpoint = window.location.origin + window.location.pathname;
  var socket = endpoint.replace(/^http/, "ws");
  var field = document.getElementById("explorer-token");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function keep(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (error) {
      /* storage refused (private mode): the field still holds the token */
    }
  }

  function bare(token) {
    return token.trim().replace(/^bearer\s+/i, "");
  }

  function loginToken(result) {
    var login = result && result.data && result.data.login;
    return login && typeof login.token === "string" ? login.token : null;
  }

  function fetcherFor(token) {
    var credentials = token ? { Authorization: "Bearer " + token } : {};
    var fetcher = GraphiQL.createFetcher({
      url: endpoint,
      headers: credentials,
      subscriptionUrl: socket,
      wsConnectionParams: credentials,
    });
    return function (params, options) {
      var result = fetcher(params, options);
      if (result && typeof result.then === "function") {
        return result.then(function (value) {
          var fresh = loginToken(value);
          if (fresh) use(fresh);
          return value;
        });
      }
      return result;
    };
  }

  var current = null;

  function use(token) {
    token = bare(token);
    if (field.value !== token) field.value = token;
    if (token === current) return;
    current = token;
    keep(token);
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcherFor(token),
        defaultTabs: config.tabs,
        defaultEditorToolsVisibility: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        inputValueDeprecation: true,
      })
    );
  }

  var pending = null;
  field.addEventListener("input", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      use(field.value);
    }, 300);
  });
  document.getElementById("explorer-token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    use(field.value);
  });
  document.getElementById("explorer-token-clear").addEventListener("click", function () {
    use("");
  });

  use(storedToken());
})();
